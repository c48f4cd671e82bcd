// Everything that talks to the engine: plain module functions (no hooks), so components,
// keyboard handlers and tests call them alike. Each catches its failure and turns it into a
// notice; none throws into React.
import { MAX_PROTO_FILES, type ConnectRequest, type ExportFormat, type FileBlob, type FramePayload, type PairsView, type ProtoFile, type ProxyStartRequest, type SendRequest, type UiEvent } from '../../../shared/contract';
import { MAX_PROTO_BYTES, type DecodeChoice } from '../../../shared/decoders/types';
import { fromBase64, toBase64 } from '../../../shared/bytes';
import type { UiClient } from '../transport/types';
import { applyEvents, applySnapshot } from './apply-events';
import { CHUNK_SIZE, chunkIndexOf, chunkKey, ChunkWriter, residentRanges, touchChunks } from './frame-chunks';
import { fieldKey } from './filters';
import { localStorageOrNull, rememberTarget, savePrefs, type ConnectOptions } from './prefs';
import { useAppStore, type ProxyForm } from './store';

let client: UiClient | null = null;

export function engine(): UiClient {
  if (!client) throw new Error('no engine client is bound');
  return client;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
export const notifyError = (what: string, err: unknown, connection?: string): void =>
  useAppStore.getState().notify('error', `${what}: ${message(err)}`, connection);

/**
 * Pushed batches are drawn at most this often. The engine pushes up to one batch per
 * animation frame; under a flood, drawing every one of them costs a layout and a paint
 * each (the list scrolls by hundreds of rows a batch, nobody reads that fast), so the UI
 * draws at about 30 Hz and stays responsive. Nothing is dropped: batches wait and are
 * applied together.
 */
export const MIN_DRAW_INTERVAL_MS = 33;
let lastDraw = 0;

/**
 * Runs `fn` at the next animation frame no sooner than MIN_DRAW_INTERVAL_MS after the last
 * draw, or after 100 ms where frames do not come (a hidden tab).
 */
export function nextFrame(fn: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    lastDraw = performance.now();
    fn();
  };
  const wait = Math.max(0, lastDraw + MIN_DRAW_INTERVAL_MS - performance.now());
  const onFrame = () => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(run) : run());
  if (wait > 4) setTimeout(onFrame, wait);
  else onFrame();
  setTimeout(run, wait + 100);
}

export interface BindOptions {
  /**
   * When to apply pushed batches. Batches that arrive before it runs are applied together,
   * in one store update: a UI that falls behind catches up in one render, not one render a
   * batch. Default: the next animation frame. Tests pass `(fn) => fn()`.
   */
  schedule?: (fn: () => void) => void;
}

/**
 * Wires a client to the store: pushes go to applyEvents, the transport state to the store,
 * and every (re)open takes a fresh snapshot. Returns the unbinding function.
 */
export function bindClient(c: UiClient, options: BindOptions = {}): () => void {
  client = c;
  inflight.clear();
  fetchedTo.clear();
  const schedule = options.schedule ?? nextFrame;
  let queued: UiEvent[][] = [];
  let scheduled = false;
  let bound = true;
  const flushQueued = () => {
    scheduled = false;
    if (!bound) return;
    const batches = queued;
    queued = [];
    applyEvents(batches.length === 1 ? batches[0]! : batches.flat());
  };
  const offEvents = c.onEvents((events) => {
    queued.push(events);
    if (!scheduled) {
      scheduled = true;
      schedule(flushQueued);
    }
  });
  const onStatus = (status: ReturnType<UiClient['status']>): void => {
    useAppStore.setState({ transport: status });
    if (status.state === 'open') void refreshSnapshot();
  };
  const offStatus = c.onStatus(onStatus);
  const offOpen = c.onOpenFile((blob) => void importBlob(blob));
  const offMenu = c.onMenu((action) => {
    if (action === 'toggleTheme') toggleTheme();
  });
  onStatus(c.status());
  return () => {
    bound = false;
    offEvents();
    offStatus();
    offOpen();
    offMenu();
    if (client === c) client = null;
  };
}

export async function refreshSnapshot(): Promise<void> {
  try {
    applySnapshot(await engine().snapshot());
  } catch (err) {
    if (useAppStore.getState().transport.state === 'open') notifyError('Could not load the engine state', err);
  }
}

/** Light to dark and back; from 'system', to the opposite of what the OS shows now. */
export function toggleTheme(): void {
  const s = useAppStore.getState();
  const osDark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)').matches : true;
  const shown = s.prefs.theme === 'system' ? (osDark ? 'dark' : 'light') : s.prefs.theme;
  s.setPrefs({ theme: shown === 'dark' ? 'light' : 'dark' });
}

// -- rows on demand ---------------------------------------------------------------------

/** Chunks being fetched, by key. */
const inflight = new Set<string>();
/**
 * How far each chunk was last fetched: a chunk still holey after a fetch (the engine had
 * fewer rows than counted, or the request failed) is not asked for again until more rows
 * are settled or it is evicted and needed anew — no request loop on every render.
 */
const fetchedTo = new Map<string, { end: number; ok: boolean }>();
/** At most this many frames() requests at once; the list asks again as it renders. */
export const MAX_INFLIGHT = 4;

/**
 * Makes rows [from, to) of a connection available: marks their chunks as used and fetches
 * the settled ones that are not (fully) in memory. Cheap to call on every render.
 */
export function ensureRows(connection: string, from: number, to: number): void {
  const s = useAppStore.getState();
  const count = s.rowCounts.get(connection) ?? 0;
  const settled = Math.min(count, s.settledRows.get(connection) ?? 0);
  to = Math.min(to, count);
  if (from < 0) from = 0;
  if (from >= to) return;
  const keys: string[] = [];
  for (let i = chunkIndexOf(from); i <= chunkIndexOf(to - 1); i++) {
    const key = chunkKey(connection, i);
    const chunk = s.chunks.get(key);
    if (chunk) keys.push(key);
    const start = i * CHUNK_SIZE;
    const end = Math.min(start + CHUNK_SIZE, settled);
    if (end <= start) continue;
    if (chunk && !hasHole(chunk.rows, 0, end - start)) continue;
    const last = fetchedTo.get(key);
    // Fetched this far already: a failure is not retried, and a chunk still holey after a
    // good fetch waits for more rows; an evicted chunk (absent) is fetched again.
    if (last && last.end >= end && (!last.ok || chunk)) continue;
    if (inflight.has(key) || inflight.size >= MAX_INFLIGHT || !client) continue;
    inflight.add(key);
    const c = client;
    let ok = false;
    c.frames({ connection, from: start, to: end })
      .then((rows) => {
        ok = true;
        if (client !== c) return;
        const now = useAppStore.getState();
        if (!now.connections.has(connection)) return;
        const writer = new ChunkWriter(now.chunks, now.chunkCap);
        writer.write(connection, rows);
        useAppStore.setState({ chunks: writer.finish() });
      })
      .catch((err: unknown) => notifyError(`Could not load frames ${start}-${end - 1}`, err, connection))
      .finally(() => {
        inflight.delete(key);
        fetchedTo.set(key, { end, ok });
      });
  }
  const touched = touchChunks(s.chunks, keys);
  if (touched !== s.chunks) useAppStore.setState({ chunks: touched });
}

/**
 * Brings the `chunks` chunks before the earliest one in memory into memory (so a filter,
 * which looks only at rows in memory, can search further back). Returns the seq range asked.
 */
export function loadEarlier(connection: string, chunks = MAX_INFLIGHT): [number, number] | null {
  const s = useAppStore.getState();
  const count = s.rowCounts.get(connection) ?? 0;
  const ranges = residentRanges(s.chunks, connection, count);
  const firstSeq = ranges[0]?.[0] ?? count;
  if (firstSeq <= 0) return null;
  const from = Math.max(0, (chunkIndexOf(firstSeq - 1) - chunks + 1) * CHUNK_SIZE);
  ensureRows(connection, from, firstSeq);
  return [from, firstSeq];
}

function hasHole(rows: ReadonlyArray<unknown>, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (rows[i] === undefined) return true;
  return false;
}

/** For tests: forget in-flight fetches. */
export function resetActions(): void {
  inflight.clear();
  fetchedTo.clear();
  fieldOut = null;
  fieldAsk++;
  client = null;
}

// -- payloads ---------------------------------------------------------------------------

/** Opened payloads kept, by total base64 characters. */
const PAYLOAD_CACHE_CHARS = 32 * 1024 * 1024;
const payloadLoads = new Set<string>();

export const payloadKey = (connection: string, seq: number): string => `${connection}:${seq}`;

export function loadPayload(connection: string, seq: number): void {
  const key = payloadKey(connection, seq);
  const s = useAppStore.getState();
  if (s.payloads.has(key) || payloadLoads.has(key) || !client) return;
  payloadLoads.add(key);
  client
    .framePayload({ connection, seq })
    .then(
      (p) => storePayload(key, p),
      (err: unknown) => storePayload(key, { error: message(err) }),
    )
    .finally(() => payloadLoads.delete(key));
}

function storePayload(key: string, value: FramePayload | { error: string }): void {
  const out = new Map(useAppStore.getState().payloads);
  out.delete(key);
  out.set(key, value);
  let total = 0;
  for (const v of out.values()) total += 'error' in v ? 0 : v.payload.length + (v.message?.length ?? 0);
  for (const [k, v] of out) {
    if (total <= PAYLOAD_CACHE_CHARS || k === key) break;
    total -= 'error' in v ? 0 : v.payload.length + (v.message?.length ?? 0);
    out.delete(k);
  }
  useAppStore.setState({ payloads: out });
}

// -- decoding ---------------------------------------------------------------------------

/** Decodes a connection as `choice` (the engine re-decodes it; its rows come again). */
export function setDecoder(connection: string, choice: DecodeChoice): void {
  client?.setDecoder({ connection, protocol: choice }).catch((err: unknown) => notifyError('Could not change the decoder', err, connection));
}

/**
 * Decodes a connection as protobuf with a .proto: picked files (a schema and what it imports,
 * read here and sent as text; on the desktop too), else the one loaded with another type.
 */
export async function loadProto(connection: string, picked: File[] | null, type?: string): Promise<void> {
  const s = useAppStore.getState();
  try {
    const req: { connection: string; files?: ProtoFile[]; type?: string } = { connection };
    if (picked) {
      if (picked.length > MAX_PROTO_FILES) throw new Error(`${picked.length} files; at most ${MAX_PROTO_FILES} at once`);
      const big = picked.find((f) => f.size > MAX_PROTO_BYTES);
      if (big) throw new Error(`${big.name}: ${big.size} bytes; a .proto may be at most ${MAX_PROTO_BYTES}`);
      req.files = await Promise.all(picked.map(async (f) => ({ filename: f.name, text: await f.text() })));
    }
    if (type !== undefined) req.type = type;
    const state = await engine().setProto(req);
    const p = state.proto;
    if (picked && p) s.notify('info', `Loaded ${p.file}: decoding as ${p.client === p.server ? (p.client ?? 'field numbers') : `${p.client ?? 'field numbers'} (client), ${p.server ?? 'field numbers'} (server)`}`, connection);
  } catch (err) {
    // The engine's message names the file and line.
    notifyError('Could not load the .proto', err, connection);
  }
}

let fieldAsk = 0;
/** the question out (its key), and whether rows came while it was out */
let fieldOut: { key: string; again: boolean } | null = null;
/** A live connection asks again at most this often: each answer scans all its records. */
export const FIELD_REFRESH_MS = 250;

/**
 * Asks the engine which decoded messages pass the filter's field test (it holds the values);
 * the answer lands in the filter. A new query asks at once and wins over one still out; the
 * same query asked again while out (rows keep coming) is asked once more after its answer,
 * FIELD_REFRESH_MS later, so a fast connection costs one scan per interval, not one per batch.
 */
export function refreshFieldMatch(connection: string, query: string): void {
  const key = fieldKey(connection, query);
  if (fieldOut?.key === key) {
    fieldOut.again = true;
    return;
  }
  if (!client) return;
  const ask = ++fieldAsk;
  const out = (fieldOut = { key, again: false });
  const done = () => {
    if (ask !== fieldAsk) return;
    fieldOut = null;
    if (out.again) setTimeout(() => ask === fieldAsk && fieldOut === null && refreshFieldMatch(connection, query), FIELD_REFRESH_MS);
  };
  client.matchDecoded({ connection, query }).then(
    ({ seqs }) => {
      if (ask !== fieldAsk) return;
      const s = useAppStore.getState();
      s.setFilter({ fieldSeqs: new Set(seqs), fieldFor: key, fieldVersion: s.filter.fieldVersion + 1 });
      done();
    },
    (err: unknown) => {
      if (ask === fieldAsk) {
        notifyError('Field filter', err, connection);
        // Answered, with nothing: the list stops waiting for it.
        const s = useAppStore.getState();
        s.setFilter({ fieldSeqs: new Set(), fieldFor: key, fieldVersion: s.filter.fieldVersion + 1 });
      }
      done();
    },
  );
}

// -- earlier sessions -------------------------------------------------------------------

/** Brings an earlier run's recording back (its connections come as imported ones). */
export function restoreSession(id: string): void {
  client?.restoreSession({ id }).then(
    ({ connections }) => {
      const last = connections.at(-1);
      if (last) useAppStore.getState().selectConnection(last);
    },
    (err: unknown) => notifyError('Could not restore the earlier session', err),
  );
}

export function discardSession(id: string): void {
  client?.discardSession({ id }).catch((err: unknown) => notifyError('Could not delete the earlier session', err));
}

export async function loadPairs(connection: string): Promise<PairsView> {
  if (!client) throw new Error('no engine');
  return client.pairs({ connection });
}

// -- connections ------------------------------------------------------------------------

export function parseHeaderLines(text: string): { headers: Array<[string, string]>; error: string | null } {
  const headers: Array<[string, string]> = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { headers, error: `line ${i + 1}: write a header as "Name: value"` };
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { headers, error: null };
}

export const parseProtocols = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

export function buildConnectRequest(url: string, o: ConnectOptions): { request: ConnectRequest } | { error: string } {
  const u = url.trim();
  if (!/^wss?:\/\//i.test(u)) return { error: 'the URL must start with ws:// or wss://' };
  const { headers, error } = parseHeaderLines(o.headers);
  if (error) return { error };
  const protocols = parseProtocols(o.protocols);
  return {
    request: {
      url: u,
      ...(headers.length ? { headers } : {}),
      ...(protocols.length ? { protocols } : {}),
      deflate: o.deflate,
      insecure: !o.verifyTls,
      ...(o.tolerant ? { tolerant: true } : {}),
    },
  };
}

export async function connectTo(url: string): Promise<boolean> {
  const s = useAppStore.getState();
  const built = buildConnectRequest(url, s.prefs.connectOptions);
  if ('error' in built) {
    s.notify('error', built.error);
    return false;
  }
  const prefs = { ...s.prefs, recentTargets: rememberTarget(s.prefs.recentTargets, built.request.url) };
  s.setPrefs(prefs);
  savePrefs(localStorageOrNull(), prefs);
  try {
    const { connection } = await engine().connect(built.request);
    useAppStore.getState().selectConnection(connection);
    return true;
  } catch (err) {
    notifyError(`Could not connect to ${built.request.url}`, err);
    return false;
  }
}

export async function sendFrame(req: SendRequest): Promise<boolean> {
  try {
    await engine().send(req);
    return true;
  } catch (err) {
    notifyError('Send failed', err, req.connection);
    return false;
  }
}

export async function disconnect(connection: string, code?: number, reason?: string): Promise<void> {
  try {
    await engine().disconnect({ connection, ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) });
  } catch (err) {
    notifyError('Disconnect failed', err, connection);
  }
}

export async function clearClosed(): Promise<void> {
  try {
    await engine().clear();
  } catch (err) {
    notifyError('Clear failed', err);
  }
}

// -- proxy ------------------------------------------------------------------------------

export function buildProxyRequest(f: ProxyForm): { request: ProxyStartRequest } | { error: string } {
  const listen = f.listen.trim();
  if (!/^(\[[^\]]+\]:|[^:\s]+:)?\d{1,5}$/.test(listen)) return { error: 'listen on [host:]port, e.g. 127.0.0.1:8081' };
  if (f.mode === 'reverse') {
    const target = f.target.trim();
    if (!/^wss?:\/\//i.test(target)) return { error: 'a reverse proxy needs a ws:// or wss:// target' };
    return { request: { mode: 'reverse', listen, target, ...(f.insecure ? { insecure: true } : {}) } };
  }
  const allowHosts = f.allowHosts.split(/[\s,]+/).filter(Boolean);
  return { request: { mode: 'forward', listen, ...(allowHosts.length ? { allowHosts } : {}), ...(f.insecure ? { insecure: true } : {}) } };
}

export async function startProxy(): Promise<void> {
  const s = useAppStore.getState();
  const built = buildProxyRequest(s.proxyForm);
  if ('error' in built) return s.notify('error', built.error);
  try {
    useAppStore.setState({ proxy: await engine().startProxy(built.request) });
  } catch (err) {
    notifyError('Could not start the proxy', err);
  }
}

export async function stopProxy(): Promise<void> {
  try {
    await engine().stopProxy();
    const p = useAppStore.getState().proxy;
    if (p) useAppStore.setState({ proxy: { ...p, running: false } });
  } catch (err) {
    notifyError('Could not stop the proxy', err);
  }
}

export async function loadCa(): Promise<void> {
  try {
    useAppStore.setState({ ca: await engine().caCertificate() });
  } catch (err) {
    notifyError('Could not read the CA certificate', err);
  }
}

// -- files ------------------------------------------------------------------------------

/** The desktop shell's native dialogs are there (else: download and upload). */
export const hasShell = (): boolean => client?.shell != null;

/** A file to the user: the shell's save dialog on the desktop, a download in a browser. */
export async function saveBlob(blob: FileBlob): Promise<void> {
  const shell = client?.shell;
  if (shell) {
    const path = await shell.saveFile(blob);
    if (path) useAppStore.getState().notify('info', `Saved ${path}`);
    return;
  }
  const bytes = fromBase64(blob.data);
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: blob.mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = blob.filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export async function exportCapture(format: ExportFormat, connections?: string[]): Promise<void> {
  try {
    const blob = await engine().exportCapture({ format, ...(connections ? { connections } : {}) });
    await saveBlob(blob);
  } catch (err) {
    notifyError(`Export as ${format} failed`, err);
  }
}

export async function importBlob(blob: FileBlob): Promise<void> {
  try {
    const { connections } = await engine().importCapture(blob);
    const s = useAppStore.getState();
    s.notify('info', `Opened ${blob.filename}: ${connections.length} connection${connections.length === 1 ? '' : 's'}`);
    if (connections.length > 0) s.selectConnection(connections[0]!);
  } catch (err) {
    // The engine names the file in its message already: say it once.
    const text = message(err);
    const own = `${blob.filename}: `;
    useAppStore.getState().notify('error', `Could not open ${blob.filename}: ${text.startsWith(own) ? text.slice(own.length) : text}`);
  }
}

/** Largest capture opened from the browser (the contract's importCapture limit). */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

export async function fileToBlob(file: File): Promise<FileBlob> {
  if (file.size > MAX_IMPORT_BYTES) throw new Error(`${file.name} is larger than 512 MiB`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  return { filename: file.name, mime: file.type || 'application/octet-stream', data: toBase64(bytes) };
}

/** Opens a capture or HAR: the shell's dialog on the desktop; in a browser the caller passes the picked file. */
export async function openCapture(file?: File): Promise<void> {
  try {
    if (file) return await importBlob(await fileToBlob(file));
    const blob = await client?.shell?.openFile();
    if (blob) await importBlob(blob);
  } catch (err) {
    notifyError('Could not open the file', err);
  }
}

/** Replays a connection's client side (against its recorded URL) as a new connection, and selects it. */
export async function replayConnection(connection: string): Promise<void> {
  try {
    const { connection: id } = await engine().replay({ connection });
    useAppStore.getState().selectConnection(id);
  } catch (err) {
    notifyError('Replay failed', err, connection);
  }
}
