// A clean shutdown: the first `before-quit` is held back while the engine session ends
// (client sockets closed, the proxy stopped, every capture journal finished), then the
// app quits for real. `dispose` runs once, however many times quit is asked for (Cmd+Q
// twice, the last window closing, SIGTERM), and a hung dispose cannot keep the app
// alive forever.
export interface ShutdownApp {
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

export interface ShutdownOptions {
  dispose(): Promise<void>;
  /** give up waiting after this long and quit anyway (ms) */
  timeoutMs?: number;
  log(line: string): void;
}

export function installShutdown(app: ShutdownApp, o: ShutdownOptions): { readonly state: 'running' | 'disposing' | 'done' } {
  const status = { state: 'running' as 'running' | 'disposing' | 'done' };
  app.on('before-quit', (event) => {
    if (status.state === 'done') return;
    event.preventDefault();
    if (status.state === 'disposing') return;
    status.state = 'disposing';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        o.log('the engine did not finish shutting down in time; quitting anyway');
        resolve();
      }, o.timeoutMs ?? 10_000);
    });
    void Promise.race([
      o.dispose().catch((err: unknown) => o.log(`shutdown: ${err instanceof Error ? err.message : String(err)}`)),
      timeout,
    ]).then(() => {
      clearTimeout(timer);
      status.state = 'done';
      app.quit();
    });
  });
  return status;
}
