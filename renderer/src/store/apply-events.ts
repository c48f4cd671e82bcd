// Pushed events into the store, in bulk: one setState per batch however many frames it
// holds (the engine sends about one batch per animation frame). A plain module function:
// the transport's onEvents calls it directly, no React involved.
import type { ConnectionSummary, HeldMessage, LaunchedApp, Snapshot, UiEvent } from '../../../shared/contract';
import { ChunkWriter } from './frame-chunks';
import { MAX_NOTICES, NO_RULES, nextNoticeId, useAppStore, type AppState } from './store';
import { applySearchProgress } from './search-actions';
import type { SearchProgress } from '../../../shared/contract';

/**
 * A summary arrives whole with every change (its counts move with every frame). Its parts
 * that did not change keep their identity, so what depends on them (the handshake panel)
 * is not redrawn per frame.
 */
export function shareUnchanged(prev: ConnectionSummary | undefined, next: ConnectionSummary): ConnectionSummary {
  if (!prev) return next;
  const same = <T>(a: T, b: T): boolean => a === b || (a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
  const out = { ...next };
  if (same(prev.handshake, next.handshake)) out.handshake = prev.handshake;
  if (same(prev.tls, next.tls)) out.tls = prev.tls;
  if (same(prev.close, next.close)) out.close = prev.close;
  if (prev.errors.length === next.errors.length && prev.errors.every((e, i) => e === next.errors[i])) out.errors = prev.errors;
  return out;
}

const isLive = (c: ConnectionSummary): boolean => c.state === 'connecting' || c.state === 'open' || c.state === 'closing';
const summaryCount = (c: ConnectionSummary): number => c.frames.client + c.frames.server;

export function applyEvents(batch: readonly UiEvent[]): void {
  if (batch.length === 0) return;
  const s = useAppStore.getState();
  const patch: Partial<AppState> = {};
  let connections: Map<string, ConnectionSummary> | null = null;
  let order: string[] | null = null;
  let rowCounts: Map<string, number> | null = null;
  let settled: Map<string, number> | null = null;
  const writer = new ChunkWriter(s.chunks, s.chunkCap);
  let notices = s.notices;
  let selected = s.selectedConnection;
  let held: Map<number, HeldMessage> | null = null;
  const heldMap = () => (held ??= new Map(s.held));

  const searches: SearchProgress[] = [];
  const counts = () => (rowCounts ??= new Map(s.rowCounts));
  const settledMap = () => (settled ??= new Map(s.settledRows));
  const conns = () => (connections ??= new Map(s.connections));

  for (const ev of batch) {
    switch (ev.type) {
      case 'connection': {
        const map = conns();
        const c = shareUnchanged(map.get(ev.connection.id), ev.connection);
        if (!map.has(c.id)) (order ??= [...s.connectionOrder]).push(c.id);
        map.set(c.id, c);
        const n = summaryCount(c);
        const rc = counts();
        if ((rc.get(c.id) ?? 0) < n) rc.set(c.id, n);
        // A connection that is over pushes no more rows: every row it has can be fetched.
        if (!isLive(c)) {
          const st = settledMap();
          if ((st.get(c.id) ?? 0) < n) st.set(c.id, n);
        }
        if (selected === null) selected = c.id;
        break;
      }
      case 'frames': {
        if (ev.frames.length === 0) break;
        writer.write(ev.connection, ev.frames);
        let top = -1;
        for (const f of ev.frames) if (f.seq > top) top = f.seq;
        const rc = counts();
        if ((rc.get(ev.connection) ?? 0) < top + 1) rc.set(ev.connection, top + 1);
        // Pushes come in seq order: whatever is below the newest pushed row is settled.
        const st = settledMap();
        if ((st.get(ev.connection) ?? 0) < top + 1) st.set(ev.connection, top + 1);
        break;
      }
      case 'error':
        notices = [...notices, { id: nextNoticeId(), level: 'error' as const, text: `${ev.kind} error: ${ev.message}`, connection: ev.connection }].slice(-MAX_NOTICES);
        break;
      case 'proxy':
        patch.proxy = ev.status;
        break;
      case 'intercept':
        patch.intercept = ev.state;
        break;
      case 'held':
        heldMap().set(ev.message.id, ev.message);
        break;
      case 'released':
        heldMap().delete(ev.id);
        break;
      case 'rules':
        patch.rules = ev.state;
        break;
      case 'previousSession':
        patch.previousSession = ev.previous;
        break;
      case 'app': {
        const apps = (patch.apps ?? s.apps).filter((a) => a.id !== ev.app.id);
        if (ev.app.state === 'running') apps.push(ev.app);
        else notices = [...notices, { id: nextNoticeId(), level: ev.app.code === 0 || ev.app.signal ? ('info' as const) : ('error' as const), text: exitText(ev.app) }].slice(-MAX_NOTICES);
        patch.apps = apps;
        break;
      }
      case 'decoded': {
        // Decoded anew: the rows and details held are the old decoding's; fetch them again.
        writer.dropConnections(new Set([ev.connection]));
        const prefix = `${ev.connection}:`;
        if ([...s.payloads.keys()].some((k) => k.startsWith(prefix))) patch.payloads = new Map([...s.payloads].filter(([k]) => !k.startsWith(prefix)));
        break;
      }
      case 'search': {
        const { type: _t, ...progress } = ev;
        searches.push(progress);
        break;
      }
      case 'cleared': {
        // The engine forgot its closed connections: so do we.
        const map = conns();
        const gone = new Set<string>();
        for (const [id, c] of map) if (!isLive(c)) gone.add(id);
        dropConnections(gone, map, writer, counts(), settledMap());
        order = (order ?? [...s.connectionOrder]).filter((id) => !gone.has(id));
        if (selected !== null && gone.has(selected)) selected = null;
        break;
      }
    }
  }

  if (connections) patch.connections = connections;
  if (order) patch.connectionOrder = order;
  if (rowCounts) patch.rowCounts = rowCounts;
  if (settled) patch.settledRows = settled;
  const chunks = writer.finish();
  if (chunks !== s.chunks) patch.chunks = chunks;
  if (notices !== s.notices) patch.notices = notices;
  if (selected !== s.selectedConnection) Object.assign(patch, selectionReset(selected));
  if (held) Object.assign(patch, heldPatch(s, held));
  useAppStore.setState(patch);
  // after the rows and counts: going to a first hit selects its row
  if (searches.length) applySearchProgress(searches);
}

/**
 * A whole snapshot (first load, and after the bridge reconnects). Connections are replaced;
 * rows already in memory stay (rows never change once recorded), rows of connections that
 * are gone are dropped, and everything the snapshot counts is fetchable.
 */
/** "Chromium exited (code 0)", with the last line it wrote to stderr when it failed. */
export function exitText(app: LaunchedApp): string {
  const how = app.signal ? `ended by ${app.signal}` : `exited (code ${app.code ?? '?'})`;
  return `${app.label} ${how}${app.lastError ? `: ${app.lastError}` : ''}`;
}

export function applySnapshot(snapshot: Snapshot): void {
  const s = useAppStore.getState();
  const connections = new Map<string, ConnectionSummary>();
  for (const c of snapshot.connections) connections.set(c.id, shareUnchanged(s.connections.get(c.id), c));
  const order = [...s.connectionOrder.filter((id) => connections.has(id))];
  for (const c of snapshot.connections) if (!order.includes(c.id)) order.push(c.id);
  const gone = new Set([...s.connections.keys()].filter((id) => !connections.has(id)));
  const writer = new ChunkWriter(s.chunks, s.chunkCap);
  const rowCounts = new Map(s.rowCounts);
  const settled = new Map(s.settledRows);
  dropConnections(gone, connections, writer, rowCounts, settled);
  for (const c of snapshot.connections) {
    const n = summaryCount(c);
    rowCounts.set(c.id, Math.max(n, rowCounts.get(c.id) ?? 0));
    // Everything counted now exists in the engine; pushes bring what comes after.
    settled.set(c.id, Math.max(n, settled.get(c.id) ?? 0));
  }
  let selected = s.selectedConnection;
  if (selected !== null && !connections.has(selected)) selected = null;
  if (selected === null && order.length > 0) selected = order[order.length - 1]!;
  useAppStore.setState({
    connections,
    connectionOrder: order,
    chunks: writer.finish(),
    rowCounts,
    settledRows: settled,
    proxy: snapshot.proxy,
    engineVersion: snapshot.version,
    intercept: snapshot.intercept ?? { rules: [], canInjectFrames: false },
    rules: snapshot.rules ?? NO_RULES,
    previousSession: snapshot.previousSession ?? null,
    apps: snapshot.apps ?? [],
    ...heldPatch(s, new Map((snapshot.held ?? []).map((h) => [h.id, h]))),
    ...(selected !== s.selectedConnection ? selectionReset(selected) : {}),
  });
}

function dropConnections(
  gone: ReadonlySet<string>,
  connections: Map<string, ConnectionSummary>,
  writer: ChunkWriter,
  rowCounts: Map<string, number>,
  settled: Map<string, number>,
): void {
  if (gone.size === 0) return;
  for (const id of gone) {
    connections.delete(id);
    rowCounts.delete(id);
    settled.delete(id);
  }
  writer.dropConnections(gone);
}

/**
 * The held queue, and which of it the editor shows: the oldest when the one shown is gone.
 * The first message held shows the queue (the inspector's Held tab): someone is waiting on it.
 */
function heldPatch(s: AppState, held: Map<number, HeldMessage>): Partial<AppState> {
  const patch: Partial<AppState> = { held };
  if (s.selectedHeld === null || !held.has(s.selectedHeld)) patch.selectedHeld = held.size > 0 ? held.keys().next().value! : null;
  if (s.held.size === 0 && held.size > 0) patch.inspectorTab = 'held';
  return patch;
}

function selectionReset(selected: string | null): Partial<AppState> {
  return { selectedConnection: selected, selectedSeq: null, paused: null, follow: true, inspectorTab: 'handshake' };
}
