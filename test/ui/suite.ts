// One UI test file's world: a scratch folder (with whatever the file records into it first),
// headless Chromium and a real `framescope serve`, made before the file's tests and removed
// after them. Screenshots go to $FRAMESCOPE_SHOTS, else os.tmpdir()/framescope-ui-e2e/.
import { afterAll, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, startServe, type Serve } from './harness';

export const SHOTS = process.env['FRAMESCOPE_SHOTS'] ?? join(tmpdir(), 'framescope-ui-e2e');

export interface UiSuite {
  readonly browser: Browser;
  readonly serve: Serve;
  /** the scratch folder, removed after the file's tests */
  readonly dir: string;
  /** uncaught errors of every page opened with `page()` */
  readonly pageErrors: string[];
  /** a new context and page on the serve UI */
  page(options?: { scheme?: 'dark' | 'light'; width?: number; height?: number }): Promise<Page>;
  /** a screenshot into SHOTS */
  shot(page: Page, name: string): Promise<void>;
}

/**
 * Registers the file's beforeAll/afterAll. `prepare` runs first, in the scratch folder (to
 * record a fixture); `teardown` runs last (to stop the peers it started).
 */
export function uiSuite(name: string, prepare?: (dir: string) => Promise<void>, teardown?: () => Promise<unknown> | unknown): UiSuite {
  let browser: Browser | undefined;
  let serve: Serve | undefined;
  let dir: string | undefined;
  const pageErrors: string[] = [];
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the UI suite's ${what} is not ready (used outside a test?)`);
    return v;
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `framescope-${name}-`));
    await prepare?.(dir);
    browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
    serve = await startServe();
  }, 90_000);
  afterAll(async () => {
    await browser?.close().catch(() => {});
    await serve?.stop();
    await teardown?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get browser() {
      return need(browser, 'browser');
    },
    get serve() {
      return need(serve, 'serve');
    },
    get dir() {
      return need(dir, 'folder');
    },
    pageErrors,
    async page(options = {}) {
      const context = await need(browser, 'browser').newContext({
        viewport: { width: options.width ?? 1440, height: options.height ?? 900 },
        colorScheme: options.scheme ?? 'dark',
      });
      return openPage(context, need(serve, 'serve').url, pageErrors);
    },
    async shot(page, file) {
      await page.screenshot({ path: join(SHOTS, file) });
    },
  };
}
