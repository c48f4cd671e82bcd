// The app:// protocol handler (main/electron/protocol.ts): the renderer's files with a strict
// CSP on every answer, nothing outside the renderer folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_URL, CONTENT_SECURITY_POLICY, createAppProtocolHandler, isAppUrl } from '../../main/electron/protocol';

let dir: string;
let handler: (r: Request) => Promise<Response>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'framescope-proto-'));
  mkdirSync(join(dir, 'renderer', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Framescope</title>');
  writeFileSync(join(dir, 'renderer', 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  handler = createAppProtocolHandler({ root: join(dir, 'renderer') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


describe('app:// protocol', () => {
  // `Request` in Node refuses non-http schemes, so the handler is called with a stand-in
  // request whose url is the app:// one (as Electron passes it).
  const call = (url: string, method = 'GET') => handler({ url, method } as Request);

  it('serves index.html with the strict CSP and no-sniff', async () => {
    for (const url of [APP_URL, 'app://framescope/']) {
      const r = await call(url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await r.text()).toContain('<title>Framescope</title>');
    }
  });

  it('serves assets with their type', async () => {
    const r = await call('app://framescope/assets/index-abc.js');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('the CSP allows only our own scripts and styles and no remote anything', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|ws:|\*/);
  });

  it('reaches nothing outside the renderer folder', async () => {
    for (const url of ['app://framescope/%2e%2e/secret.txt', 'app://framescope/..%2fsecret.txt', 'app://framescope/assets/%2e%2e%2f%2e%2e%2fsecret.txt', 'app://framescope/%00', 'app://framescope/nope.js']) {
      const r = await call(url);
      expect(r.status, url).toBe(404);
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    }
    expect((await call('app://framescope/%E0%A4%A')).status).toBe(400);
  });

  it('answers only its own host and only GET/HEAD', async () => {
    expect((await call('app://other/index.html')).status).toBe(404);
    expect((await call(APP_URL, 'POST')).status).toBe(405);
    const head = await call(APP_URL, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('recognises our own URLs only', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('app://framescope')).toBe(true);
    expect(isAppUrl('app://framescope/assets/x.js')).toBe(true);
    for (const url of ['app://framescope.evil/', 'app://user@framescope/', 'https://framescope/', 'file:///index.html', 'framescope', '']) {
      expect(isAppUrl(url), url).toBe(false);
    }
  });

});
