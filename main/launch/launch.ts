// `framescope launch`: what an app is started with so that its HTTP and WebSocket traffic
// goes through Framescope's forward proxy and trusts its CA, changing nothing outside the
// app's own process tree (docs/guide.md "Launching an app through Framescope").
//
// Everything the launch writes (the trust bundles, the Node hook, a browser profile) lives in
// one temporary folder, removed when the launch ends.
import { X509Certificate, createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import nodeHookSource from './node-hook.mjs?raw';

export type BrowserKind = 'chromium' | 'firefox';

export interface Browser {
  /** what `framescope launch NAME` takes */
  id: 'chromium' | 'chrome' | 'edge' | 'brave' | 'firefox';
  name: string;
  kind: BrowserKind;
  path: string;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** how connections from this app are labelled (the `app` field of their open event) */
  label: string;
  /**
   * A browser: started with its output through pipes, and over only when every process
   * holding them has ended (its helper processes outlive the main one briefly).
   */
  browser: boolean;
  /** the launch's temporary folder */
  dir: string;
  /** lines for the user: what could not be set up (a browser profile without the CA…) */
  notes: string[];
  /** removes the temporary folder */
  cleanup(): void;
}

export interface LaunchSetup {
  /** the proxy, e.g. http://127.0.0.1:8080 */
  proxyUrl: string;
  /** the interception CA's certificate file */
  caCertPath: string;
  /** the environment the app would have had (default process.env) */
  baseEnv?: NodeJS.ProcessEnv;
}

/** A trust file may be large (a system bundle is ~200 KiB); past this it is not one. */
const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export class LaunchError extends Error {}

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo: Chromium's --ignore-certificate-errors-spki-list. */
export function spkiHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const BROWSERS: Array<{ id: Browser['id']; name: string; kind: BrowserKind; names: string[]; paths: Partial<Record<NodeJS.Platform, string[]>> }> = [
  {
    id: 'chromium',
    name: 'Chromium',
    kind: 'chromium',
    names: ['chromium', 'chromium-browser'],
    paths: { darwin: ['/Applications/Chromium.app/Contents/MacOS/Chromium'], win32: ['%LOCALAPPDATA%\\Chromium\\Application\\chrome.exe'] },
  },
  {
    id: 'chrome',
    name: 'Google Chrome',
    kind: 'chromium',
    names: ['google-chrome', 'google-chrome-stable', 'chrome'],
    paths: {
      darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'],
      win32: ['%PROGRAMFILES%\\Google\\Chrome\\Application\\chrome.exe', '%PROGRAMFILES(X86)%\\Google\\Chrome\\Application\\chrome.exe', '%LOCALAPPDATA%\\Google\\Chrome\\Application\\chrome.exe'],
    },
  },
  {
    id: 'edge',
    name: 'Microsoft Edge',
    kind: 'chromium',
    names: ['microsoft-edge', 'microsoft-edge-stable'],
    paths: {
      darwin: ['/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'],
      win32: ['%PROGRAMFILES(X86)%\\Microsoft\\Edge\\Application\\msedge.exe', '%PROGRAMFILES%\\Microsoft\\Edge\\Application\\msedge.exe'],
    },
  },
  {
    id: 'brave',
    name: 'Brave',
    kind: 'chromium',
    names: ['brave-browser', 'brave'],
    paths: {
      darwin: ['/Applications/Brave Browser.app/Contents/MacOS/Brave Browser'],
      win32: ['%PROGRAMFILES%\\BraveSoftware\\Brave-Browser\\Application\\brave.exe', '%LOCALAPPDATA%\\BraveSoftware\\Brave-Browser\\Application\\brave.exe'],
    },
  },
  {
    id: 'firefox',
    name: 'Firefox',
    kind: 'firefox',
    names: ['firefox', 'firefox-esr'],
    paths: { darwin: ['/Applications/Firefox.app/Contents/MacOS/firefox'], win32: ['%PROGRAMFILES%\\Mozilla Firefox\\firefox.exe', '%PROGRAMFILES(X86)%\\Mozilla Firefox\\firefox.exe'] },
  },
];

export const BROWSER_IDS = BROWSERS.map((b) => b.id);

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    if (process.platform !== 'win32') accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      if (executable(file)) return file;
    }
  }
  return null;
}

function expand(p: string, env: NodeJS.ProcessEnv): string | null {
  let missing = false;
  const out = p.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = env[name] ?? env[name.toUpperCase()];
    if (!v) missing = true;
    return v ?? '';
  });
  return missing ? null : out;
}

/** The browsers installed: on PATH, then in each platform's usual places. */
export function findBrowsers(env: NodeJS.ProcessEnv = process.env): Browser[] {
  const found: Browser[] = [];
  for (const b of BROWSERS) {
    let file: string | null = null;
    for (const n of b.names) if (!file) file = onPath(n, env);
    for (const p of b.paths[process.platform] ?? []) {
      if (file) break;
      const full = expand(p, env);
      if (full && executable(full)) file = full;
    }
    if (file) found.push({ id: b.id, name: b.name, kind: b.kind, path: file });
  }
  return found;
}

function readBundle(file: string): string | null {
  try {
    if (statSync(file).size > MAX_BUNDLE_BYTES) return null;
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Where this system keeps its CA bundle, if it has one file for it. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem', '/usr/local/etc/openssl/cert.pem'];

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** A fresh temporary folder for one launch. */
export function launchDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'framescope-launch-'));
}

/**
 * The environment of a launched command: the proxy in every variable HTTP clients read, no
 * exceptions (so loopback goes through too), the CA in every trust variable common runtimes
 * read, and for Node the hook that sends http, https, WebSocket clients and fetch through.
 */
export function commandEnv(dir: string, setup: LaunchSetup): NodeJS.ProcessEnv {
  const base = setup.baseEnv ?? process.env;
  const caPem = ensureNewline(readFileSync(setup.caCertPath, 'utf8'));
  // Node reads one extra file: the user's (if any) and ours, together.
  const userExtra = base['NODE_EXTRA_CA_CERTS'] ? readBundle(base['NODE_EXTRA_CA_CERTS']) : null;
  const nodeExtra = path.join(dir, 'node-extra-ca.pem');
  writeFileSync(nodeExtra, (userExtra ? ensureNewline(userExtra) : '') + caPem);
  // Variables that replace the trust store: the bundle the user had, else the system's (else
  // Node's own roots), plus our CA, so every other TLS connection still verifies.
  const had = ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'].map((n) => base[n]).find((v): v is string => !!v);
  let roots = had ? readBundle(had) : null;
  for (const f of SYSTEM_BUNDLES) if (!roots) roots = readBundle(f);
  roots ??= rootCertificates.join('\n');
  const bundle = path.join(dir, 'ca-bundle.pem');
  writeFileSync(bundle, ensureNewline(roots) + caPem);
  const hook = path.join(dir, 'node-hook.mjs');
  writeFileSync(hook, nodeHookSource);

  const env: NodeJS.ProcessEnv = { ...base };
  for (const n of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'WS_PROXY', 'WSS_PROXY']) {
    env[n] = setup.proxyUrl;
    env[n.toLowerCase()] = setup.proxyUrl;
  }
  // Empty, not unset: a user's NO_PROXY usually lists localhost, which must be intercepted too.
  env['NO_PROXY'] = '';
  env['no_proxy'] = '';
  env['NODE_EXTRA_CA_CERTS'] = nodeExtra;
  for (const n of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'AWS_CA_BUNDLE', 'DENO_CERT', 'HTTPLIB2_CA_CERTS', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'CARGO_HTTP_CAINFO', 'PIP_CERT', 'NIX_SSL_CERT_FILE']) {
    env[n] = bundle;
  }
  env['FRAMESCOPE_LAUNCH_PROXY'] = setup.proxyUrl;
  const quoted = /[\s"\\]/.test(hook) ? `"${hook.replace(/(["\\])/g, '\\$1')}"` : hook;
  env['NODE_OPTIONS'] = [base['NODE_OPTIONS'], `--import ${quoted}`].filter(Boolean).join(' ');
  return env;
}

export interface BrowserOptions {
  url?: string;
  headless?: boolean;
}

/** A browser with a fresh profile in `dir`, the proxy for everything, and the CA trusted there only. */
export function browserCommand(browser: Browser, dir: string, setup: LaunchSetup, options: BrowserOptions): { args: string[]; notes: string[]; env: Record<string, string> } {
  const proxy = new URL(setup.proxyUrl);
  const notes: string[] = [];
  if (browser.kind === 'chromium') {
    const profile = path.join(dir, 'profile');
    mkdirSync(profile);
    const args = [
      `--user-data-dir=${profile}`,
      `--proxy-server=${proxy.protocol}//${proxy.host}`,
      // Chromium sends loopback direct unless the bypass list takes loopback out.
      '--proxy-bypass-list=<-loopback>',
      // Trusts certificates whose chain holds this key, in this profile's process only.
      `--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(setup.caCertPath, 'utf8'))}`,
      '--no-first-run',
      '--no-default-browser-check',
      // QUIC would go around an HTTP proxy.
      '--disable-quic',
    ];
    // Chromium refuses to run as root with its sandbox on.
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    if (options.headless) args.push('--headless');
    if (options.url) args.push(options.url);
    return { args, notes, env: {} };
  }
  const profile = path.join(dir, 'profile');
  mkdirSync(profile);
  const prefs: Array<[string, string | number | boolean]> = [
    // Every request through the proxy, loopback too (Firefox sends it direct otherwise).
    ['network.proxy.type', 1],
    ['network.proxy.http', proxy.hostname],
    ['network.proxy.http_port', Number(proxy.port)],
    ['network.proxy.ssl', proxy.hostname],
    ['network.proxy.ssl_port', Number(proxy.port)],
    ['network.proxy.share_proxy_settings', true],
    ['network.proxy.no_proxies_on', ''],
    ['network.proxy.allow_hijacking_localhost', true],
    // HTTP/3 (QUIC) and DNS over HTTPS would go around an HTTP proxy.
    ['network.http.http3.enable', false],
    ['network.trr.mode', 5],
    // A fresh profile reaches for Mozilla's services at start (remote settings, region,
    // captive portal check, push, new-tab content, safe browsing lists, telemetry, add-on
    // and plugin updates): each would be a request, or a WebSocket (push), in the capture.
    // A release build honours services.settings.server only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (below).
    ['services.settings.server', 'data:,#remote-settings-off/v1'],
    ['browser.region.network.url', ''],
    ['browser.region.update.enabled', false],
    ['network.captive-portal-service.enabled', false],
    ['network.connectivity-service.enabled', false],
    ['dom.push.connection.enabled', false],
    ['dom.push.serverURL', ''],
    ['browser.newtabpage.enabled', false],
    ['browser.newtab.preload', false],
    ['browser.newtabpage.activity-stream.feeds.system.topstories', false],
    ['browser.newtabpage.activity-stream.feeds.section.topstories', false],
    ['browser.newtabpage.activity-stream.showSponsored', false],
    ['browser.newtabpage.activity-stream.showSponsoredTopSites', false],
    ['browser.newtabpage.activity-stream.telemetry', false],
    ['browser.topsites.contile.enabled', false],
    ['browser.startup.page', 0],
    ['browser.startup.homepage', 'about:blank'],
    ['browser.startup.homepage_override.mstone', 'ignore'],
    ['startup.homepage_welcome_url', 'about:blank'],
    ['startup.homepage_welcome_url.additional', ''],
    ['browser.safebrowsing.malware.enabled', false],
    ['browser.safebrowsing.phishing.enabled', false],
    ['browser.safebrowsing.downloads.enabled', false],
    ['browser.safebrowsing.blockedURIs.enabled', false],
    ['browser.safebrowsing.provider.mozilla.updateURL', ''],
    ['browser.safebrowsing.provider.google4.updateURL', ''],
    ['browser.safebrowsing.provider.google.updateURL', ''],
    ['privacy.trackingprotection.enabled', false],
    ['app.normandy.enabled', false],
    ['app.normandy.api_url', ''],
    ['app.shield.optoutstudies.enabled', false],
    ['app.update.enabled', false],
    ['app.update.auto', false],
    ['app.update.disabledForTesting', true],
    ['extensions.update.enabled', false],
    ['extensions.getAddons.cache.enabled', false],
    ['extensions.systemAddon.update.enabled', false],
    ['extensions.systemAddon.update.url', ''],
    ['media.gmp-manager.url', ''],
    ['media.gmp-manager.chromium-update-url', ''],
    ['media.gmp-widevinecdm.allow-chromium-update', false],
    ['media.gmp-gmpopenh264.enabled', false],
    ['media.gmp-widevinecdm.enabled', false],
    ['browser.search.update', false],
    ['browser.discovery.enabled', false],
    ['identity.fxaccounts.enabled', false],
    ['toolkit.telemetry.enabled', false],
    ['toolkit.telemetry.unified', false],
    ['toolkit.telemetry.archive.enabled', false],
    ['toolkit.telemetry.server', ''],
    ['datareporting.healthreport.uploadEnabled', false],
    ['datareporting.usage.uploadEnabled', false],
    ['datareporting.policy.dataSubmissionEnabled', false],
    ['browser.ping-centre.telemetry', false],
    ['network.prefetch-next', false],
    // No first-run pages or default-browser question in a throwaway profile.
    ['browser.shell.checkDefaultBrowser', false],
    ['browser.aboutwelcome.enabled', false],
    ['trailhead.firstrun.didSeeAboutWelcome', true],
  ];
  writeFileSync(path.join(profile, 'user.js'), prefs.map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  // The CA goes into this profile's own certificate database, with NSS's certutil.
  try {
    execFileSync('certutil', ['-d', `sql:${profile}`, '-N', '--empty-password'], { stdio: 'ignore' });
    execFileSync('certutil', ['-d', `sql:${profile}`, '-A', '-t', 'C,,', '-n', 'Framescope Interception CA', '-i', setup.caCertPath], { stdio: 'ignore' });
  } catch {
    notes.push(`certutil (NSS tools) is not installed: this Firefox profile does not trust ${setup.caCertPath}, so wss:// and https:// pages show a certificate warning (install libnss3-tools, or import the CA in Firefox's settings)`);
  }
  const args = ['-profile', profile, '-no-remote', '-new-instance'];
  if (options.headless) args.push('-headless');
  if (options.url) args.push(options.url);
  const appData = path.join(dir, 'firefox-data');
  mkdirSync(appData);
  return {
    args,
    notes,
    env: {
      // A release build ignores services.settings.server (and keeps polling Mozilla's
      // remote settings server) unless this is set.
      MOZ_REMOTE_SETTINGS_DEVTOOLS: '1',
      // Firefox keeps per-user state outside the profile (~/.config/mozilla/firefox: the
      // crash reporter's telemetry store, pending pings), shared with the user's own Firefox:
      // this profile's telemetry switch would change it there, and pings queued there
      // would be sent from here.
      MOZ_APP_DATA: appData,
      MOZ_CRASHREPORTER_DISABLE: '1',
    },
  };
}

/** The plan for `launch BROWSER [URL]` or `launch -- COMMAND ARGS…`. */
export function planLaunch(what: { browser: Browser; options: BrowserOptions } | { command: string[] }, setup: LaunchSetup): LaunchPlan {
  const dir = launchDir();
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const env = commandEnv(dir, setup);
    if ('browser' in what) {
      const b = browserCommand(what.browser, dir, setup, what.options);
      // Browsers write outside their profile whatever it says (crash reports in
      // $XDG_CONFIG_HOME/chromium or /mozilla, caches, dconf's in $XDG_CACHE_HOME): those go to
      // the launch's folder too, so the user's folders are left as they were.
      const own = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache') };
      return { command: what.browser.path, args: b.args, env: { ...env, ...own, ...b.env }, label: what.browser.name, browser: true, dir, notes: b.notes, cleanup };
    }
    const [command, ...args] = what.command;
    if (!command) throw new LaunchError('no command to launch');
    return { command, args, env, label: what.command.map((a) => (/[\s"'\\]/.test(a) ? JSON.stringify(a) : a)).join(' '), browser: false, dir, notes: [], cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** A browser by the name `launch` takes ("chromium", "chrome", …), if installed. */
export function findBrowser(id: string, env: NodeJS.ProcessEnv = process.env): Browser | null {
  return findBrowsers(env).find((b) => b.id === id) ?? null;
}

