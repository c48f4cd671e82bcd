// What the UI holds: the contract's EngineClient plus the transport's own state. The UI
// talks to the engine only through this; which transport carries it is decided once, at
// start-up (see pick-client.ts).
import type { EngineClient, FileBlob, MenuAction, ShellApi } from '../../../shared/contract';

/**
 * connecting: before the first open; open: requests flow; disconnected: the bridge went
 * away and the client is waiting `retryInMs` before trying again (the UI says so).
 */
export type TransportStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'disconnected'; attempt: number; retryInMs: number; reason: string };

export interface UiClient extends EngineClient {
  readonly kind: 'web' | 'ipc' | 'demo';
  status(): TransportStatus;
  /** status changes; the listener is also told when the transport (re)opens */
  onStatus(listener: (status: TransportStatus) => void): () => void;
  /** native dialogs, only in the desktop shell */
  readonly shell: ShellApi | null;
  /** files the OS asked the app to open (desktop only) */
  onOpenFile(listener: (blob: FileBlob) => void): () => void;
  /** native menu items the UI carries out (desktop only) */
  onMenu(listener: (action: MenuAction) => void): () => void;
  /** stop reconnecting and drop the socket (tests, page unload) */
  dispose(): void;
}

/** A command failed in the engine, or never got there. `code` is stable. */
export class EngineRequestError extends Error {
  override name = 'EngineRequestError';
  constructor(
    readonly code: 'engine' | 'disconnected' | 'timeout' | 'queue-full',
    message: string,
  ) {
    super(message);
  }
}
