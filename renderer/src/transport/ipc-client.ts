// The desktop transport: the Electron preload puts `window.framescope` (PreloadApi) on the
// page through contextBridge. IPC does not drop, so the status is always open.
import { COMMANDS, type EngineApi, type PreloadApi } from '../../../shared/contract';
import type { TransportStatus, UiClient } from './types';

export function createIpcClient(preload: PreloadApi): UiClient {
  const engine = Object.fromEntries(
    COMMANDS.map((name) => [name, (arg: unknown) => (preload.engine[name] as (a: unknown) => Promise<unknown>)(arg ?? {})]),
  ) as unknown as EngineApi;
  const open: TransportStatus = { state: 'open' };
  return {
    ...engine,
    kind: 'ipc',
    shell: preload.shell,
    status: () => open,
    onStatus: () => () => {},
    onEvents: (listener) => preload.onEvents(listener),
    onOpenFile: (listener) => preload.onOpenFile(listener),
    onMenu: (listener) => preload.onMenu(listener),
    dispose: () => {},
  };
}
