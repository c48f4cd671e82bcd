// WebSocket servers from other implementations, started as child processes on an ephemeral
// loopback port: python-websockets and Autobahn (Debian's python3-websockets and
// python3-autobahn, run with /usr/bin/python3, not a pyenv python on PATH). Each script
// echoes messages and obeys "close CODE [REASON]", "fragments N TEXT" and "ping DATA".
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export type PythonPeer = 'websockets' | 'autobahn';

const SCRIPTS: Record<PythonPeer, string> = {
  websockets: fileURLToPath(new URL('./websockets_server.py', import.meta.url)),
  autobahn: fileURLToPath(new URL('./autobahn_server.py', import.meta.url)),
};

export interface PythonServer {
  /** ws://127.0.0.1:PORT (no trailing slash) */
  url: string;
  port: number;
  /** what the script wrote to stderr (tracebacks, if any) */
  stderr(): string;
  /** closes its stdin (it exits), then kills it if it has not gone */
  close(): Promise<void>;
}

/** Whether the system python has the module (checked by importing it). */
export function havePython(module: PythonPeer): boolean {
  if (!existsSync(SYSTEM_PYTHON)) return false;
  const { status } = spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
  return status === 0;
}

export function startPythonServer(peer: PythonPeer): Promise<PythonServer> {
  const child: ChildProcess = spawn(SYSTEM_PYTHON, [SCRIPTS[peer]], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${peer} server exited (${code}) before listening: ${err.trim()}`));
    child.once('exit', onExit);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^listening (\d+)$/m.exec(out);
      if (!m) return;
      child.off('exit', onExit);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const port = Number(m[1]);
      resolve({
        url: `ws://127.0.0.1:${port}`,
        port,
        stderr: () => err,
        close: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.stdin!.end();
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}
