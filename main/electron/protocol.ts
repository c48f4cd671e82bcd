// The renderer is loaded from `app://framescope/`, a custom protocol served by the main
// process, not from file://. So the page has an origin of its own (file:// pages share
// one, and may read any other file the user owns), every answer carries a strict
// Content-Security-Policy header (a meta tag alone is weaker: it does not apply before the
// tag is parsed), and only files under the built renderer's folder can be reached.
//
// No Electron import: main.ts registers `APP_SCHEME_PRIVILEGES` and hands
// `createAppProtocolHandler` to `protocol.handle`; tests call the handler directly.
import { readFile as fsReadFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { STATIC_MIME as MIME } from '../engine/session/static-files';

export const APP_SCHEME = 'app';
export const APP_HOST = 'framescope';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

/**
 * The scheme's privileges (`protocol.registerSchemesAsPrivileged`, before the app is
 * ready): standard (relative URLs and an origin of its own, as the renderer's `base: './'`
 * build needs), secure (a secure context, like https), fetch. Nothing that bypasses CSP,
 * and no service workers. `corsEnabled` stays off: it would let *other* origins read our
 * files; the page's own module scripts are same-origin requests and need no CORS.
 */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, bypassCSP: false, allowServiceWorkers: false },
};

/**
 * The page's policy. The desktop renderer talks to the engine over IPC only, so it may
 * connect nowhere but its own origin (the renderer's meta tag also allows the loopback
 * bridge of `framescope serve`; both policies apply, so the stricter one wins here).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'none'",
  "media-src 'none'",
  "worker-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export interface AppProtocolOptions {
  /** the built renderer (app/dist/renderer) */
  root: string;
  /** injectable for tests */
  readFile?: (path: string) => Promise<Uint8Array>;
}

/** Is this URL one of our own pages (the only origin whose frames may call IPC)? */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** The `protocol.handle(APP_SCHEME, …)` handler: files under `root`, with the security headers. */
export function createAppProtocolHandler(o: AppProtocolOptions): (request: Request) => Promise<Response> {
  const root = resolve(o.root);
  const read = o.readFile ?? ((p: string) => fsReadFile(p));
  const answer = (status: number, body: Uint8Array | string | null, type = 'text/plain; charset=utf-8') =>
    new Response(body, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': type } });

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(405, 'Method Not Allowed\n');
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return answer(400, 'Bad Request\n');
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return answer(404, 'Not Found\n');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    } catch {
      return answer(400, 'Bad Request\n');
    }
    // The URL parser already folds "/../"; an encoded one (%2e%2e%2f) is caught here.
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || path.includes('\0')) return answer(404, 'Not Found\n');
    let body: Uint8Array;
    try {
      body = await read(file);
    } catch {
      return answer(404, 'Not Found\n');
    }
    return answer(200, request.method === 'HEAD' ? null : body, MIME[extname(file).toLowerCase()] ?? 'application/octet-stream');
  };
}
