// What the native menu and the OS ask of the app, over injected dependencies: open a
// capture (dialog, file association, second launch), export one, show the interception
// CA, About. Failures become a native error box with a readable message, never a stack.
import type { MessageBoxOptions, MessageBoxReturnValue } from 'electron';
import type { CaInfo, ExportFormat, ExportRequest, FileBlob, MenuAction, ShellApi } from '../../shared/contract';
import { publicMessage } from './ipc';
import { readCaptureFile } from './files';
import type { MenuActions } from './menu';

export interface ActionDeps {
  session: {
    exportCapture(req: ExportRequest): Promise<FileBlob>;
    caCertificate(): Promise<CaInfo>;
  };
  shell: ShellApi;
  /** hands a file to the UI, which imports it (OPEN_FILE_CHANNEL) */
  openInUi(blob: FileBlob): void;
  sendToUi(action: MenuAction): void;
  showMessageBox(options: MessageBoxOptions): Promise<MessageBoxReturnValue>;
  showErrorBox(title: string, content: string): void;
  about: { name: string; version: string; versions: Partial<Record<'electron' | 'chrome' | 'node', string>> };
  log(line: string): void;
}

const utf8Base64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function createMenuActions(d: ActionDeps): MenuActions {
  const failed = (what: string) => (err: unknown) => {
    const message = publicMessage(err);
    if (message === null) d.log(`internal error while trying to ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    d.showErrorBox(`Could not ${what}`, message ?? 'An internal error occurred.');
  };
  return {
    openCapture() {
      void d.shell
        .openFile()
        .then((blob) => {
          if (blob) d.openInUi(blob);
        })
        .catch(failed('open the capture'));
    },
    exportCapture(format: ExportFormat) {
      void d.session
        .exportCapture({ format })
        .then((blob) => d.shell.saveFile(blob))
        .catch(failed('export'));
    },
    sendToUi(action: MenuAction) {
      d.sendToUi(action);
    },
    showAbout() {
      const v = d.about.versions;
      void d.showMessageBox({
        type: 'info',
        title: `About ${d.about.name}`,
        message: `${d.about.name} ${d.about.version}`,
        detail: [
          'Every WebSocket handshake and frame, exactly as on the wire.',
          '',
          `Electron ${v.electron ?? '?'}`,
          `Chromium ${v.chrome ?? '?'}`,
          `Node.js ${v.node ?? '?'}`,
        ].join('\n'),
        buttons: ['OK'],
      });
    },
    showCaCertificate() {
      void (async () => {
        const ca = await d.session.caCertificate();
        const { response } = await d.showMessageBox({
          type: 'info',
          title: 'Interception CA certificate',
          message: 'Framescope interception CA',
          detail: [
            'The forward proxy intercepts TLS with certificates signed by this CA. Trust it only in the',
            'browser or app whose traffic you inspect; its key never leaves this computer.',
            '',
            `SHA-256 fingerprint:\n${ca.fingerprint256}`,
            '',
            `File: ${ca.path}`,
          ].join('\n'),
          buttons: ['Export…', 'Close'],
          defaultId: 1,
          cancelId: 1,
        });
        if (response === 0) await d.shell.saveFile({ filename: 'framescope-ca.pem', mime: 'application/x-pem-file', data: utf8Base64(ca.pem) });
      })().catch(failed('show the CA certificate'));
    },
  };
}

/**
 * Files the OS asks us to open (argv at launch, a second launch, macOS open-file — which
 * can come before the app is ready) wait until the UI has loaded, then go to it one by one.
 */
export class OpenQueue {
  private pending: string[] = [];
  private ready = false;

  constructor(
    private readonly deliver: (blob: FileBlob) => void,
    private readonly onError: (path: string, message: string) => void,
    private readonly read: (path: string) => Promise<FileBlob> = (p) => readCaptureFile(p),
    /** at most this many waiting (a flood of open-file events is cut) */
    private readonly max = 32,
  ) {}

  open(paths: readonly string[]): void {
    if (!this.ready) {
      for (const p of paths) if (this.pending.length < this.max) this.pending.push(p);
      return;
    }
    for (const p of paths) void this.load(p);
  }

  /** the UI loaded (again): hand it what waited */
  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) this.open(this.pending.splice(0));
  }

  private async load(path: string): Promise<void> {
    try {
      this.deliver(await this.read(path));
    } catch (err) {
      this.onError(path, publicMessage(err) ?? 'it could not be read');
    }
  }
}
