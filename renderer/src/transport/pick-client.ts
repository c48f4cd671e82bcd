// One transport per page, chosen once: the desktop preload when it is there, else the web
// bridge of `framescope serve` (the page URL carries its token), else — only when asked
// with ?demo — an in-memory engine for trying the UI without one.
import type { PreloadApi } from '../../../shared/contract';
import { createIpcClient } from './ipc-client';
import type { UiClient } from './types';
import { createWebClient, MissingTokenError } from './web-client';

export type PickResult = { client: UiClient } | { error: string };

export async function pickClient(win: Window & { framescope?: PreloadApi }): Promise<PickResult> {
  if (win.framescope) return { client: createIpcClient(win.framescope) };
  const params = new URLSearchParams(win.location.search);
  if (params.has('demo')) {
    // A separate chunk: the demo engine is never loaded in normal use.
    const { createDemoClient } = await import('../dev/fake-engine');
    return { client: createDemoClient({ seed: params.get('demo') || undefined }) };
  }
  try {
    return { client: createWebClient(win.location) };
  } catch (err) {
    if (err instanceof MissingTokenError) return { error: err.message };
    throw err;
  }
}
