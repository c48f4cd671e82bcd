// The one store, built from typed slices (zustand's slices pattern). Slices hold state and
// the small synchronous setters that belong to it; anything that talks to the engine is a
// plain module function in actions.ts, and high-rate pushes go through applyEvents() in
// apply-events.ts, also outside React. Maps are replaced, never mutated.
import { create, type StateCreator } from 'zustand';
import type { CaInfo, ConnectionSummary, FramePayload, HeldMessage, InterceptState, LaunchTarget, LaunchedApp, PreviousSession, ProxyStatus, RulesState, SearchHit } from '../../../shared/contract';
import type { TransportStatus } from '../transport/types';
import { DEFAULT_COMPOSER, type ComposerState } from './composer-state';
import { DEFAULT_CHUNK_CAP, type ChunkMap } from './frame-chunks';
import { NO_FILTER, type FrameFilter } from './filters';
import { DEFAULT_PREFS, type Prefs } from './prefs';

// -- connections ------------------------------------------------------------------------

export interface ConnectionsSlice {
  connections: ReadonlyMap<string, ConnectionSummary>;
  /** ids in the order they appeared, oldest first */
  connectionOrder: readonly string[];
}

const connectionsSlice: StateCreator<AppState, [], [], ConnectionsSlice> = () => ({
  connections: new Map(),
  connectionOrder: [],
});

// -- frames -----------------------------------------------------------------------------

export interface FramesSlice {
  /** frame rows in chunks, an LRU: oldest first (see frame-chunks.ts) */
  chunks: ChunkMap;
  chunkCap: number;
  /** rows a connection has: max(its summary's frame counts, highest seq seen + 1) */
  rowCounts: ReadonlyMap<string, number>;
  /**
   * Rows below this seq exist in the engine and will not be pushed any more: a hole there
   * is fetched with frames(). Rows above it are still on their way in a push.
   */
  settledRows: ReadonlyMap<string, number>;
  /** opened payloads, small LRU keyed `${connection}:${seq}` */
  payloads: ReadonlyMap<string, FramePayload | { error: string }>;
}

const framesSlice: StateCreator<AppState, [], [], FramesSlice> = () => ({
  chunks: new Map(),
  chunkCap: DEFAULT_CHUNK_CAP,
  rowCounts: new Map(),
  settledRows: new Map(),
  payloads: new Map(),
});

// -- selection, filters, view -----------------------------------------------------------

export type InspectorTab = 'frame' | 'handshake' | 'held' | 'rules' | 'pairs';

export interface ViewSlice {
  selectedConnection: string | null;
  selectedSeq: number | null;
  filter: FrameFilter;
  /** the list stopped moving at `count` rows of `connection`; frames still arrive and are kept */
  paused: { connection: string; count: number } | null;
  /** the list keeps the newest row in view (off once the user scrolls up) */
  follow: boolean;
  inspectorTab: InspectorTab;
  selectConnection(id: string | null): void;
  selectFrame(seq: number | null): void;
  setFilter(patch: Partial<FrameFilter>): void;
  setPaused(paused: boolean): void;
  setFollow(follow: boolean): void;
  setInspectorTab(tab: InspectorTab): void;
}

const viewSlice: StateCreator<AppState, [], [], ViewSlice> = (set, get) => ({
  selectedConnection: null,
  selectedSeq: null,
  filter: NO_FILTER,
  paused: null,
  follow: true,
  inspectorTab: 'handshake',
  selectConnection: (id) =>
    set((s) =>
      s.selectedConnection === id ? {} : { selectedConnection: id, selectedSeq: null, paused: null, follow: true, inspectorTab: 'handshake' },
    ),
  selectFrame: (seq) => set(seq === null ? { selectedSeq: null } : { selectedSeq: seq, inspectorTab: 'frame' }),
  setFilter: (patch) => set((s) => ({ filter: { ...s.filter, ...patch } })),
  setPaused: (paused) => {
    const id = get().selectedConnection;
    if (!paused || id === null) set({ paused: null });
    else set({ paused: { connection: id, count: get().rowCounts.get(id) ?? 0 } });
  },
  setFollow: (follow) => set((s) => (s.follow === follow ? {} : { follow })),
  setInspectorTab: (tab) => set({ inspectorTab: tab }),
});

// -- whole-history search ---------------------------------------------------------------

/** A search the engine runs over every frame (search-actions.ts). */
export interface SearchRun {
  /** the engine's id; null until it has answered */
  id: number | null;
  query: string;
  /** the connection searched; null: all */
  connection: string | null;
  /** the hits so far, in order (connection by connection, seq ascending) */
  hits: readonly SearchHit[];
  found: number;
  scanned: number;
  total: number;
  done: boolean;
  capped: boolean;
  error: string | null;
}

export interface SearchSlice {
  searchText: string;
  /** search every connection (else the selected one) */
  searchAll: boolean;
  search: SearchRun | null;
  /** the hit shown, an index into search.hits (-1: none yet) */
  searchIndex: number;
  /** the frame list scrolls this row into view (n: a new request each time) */
  reveal: { connection: string; seq: number; n: number } | null;
  setSearchText(text: string): void;
  setSearchAll(all: boolean): void;
}

const searchSlice: StateCreator<AppState, [], [], SearchSlice> = (set) => ({
  searchText: '',
  searchAll: false,
  search: null,
  searchIndex: -1,
  reveal: null,
  setSearchText: (searchText) => set({ searchText }),
  setSearchAll: (searchAll) => set({ searchAll }),
});

// -- composer ---------------------------------------------------------------------------

export interface ComposerSlice {
  composer: ComposerState;
  setComposer(patch: Partial<ComposerState>): void;
  setRawDraft(patch: Partial<ComposerState['raw']>): void;
}

const composerSlice: StateCreator<AppState, [], [], ComposerSlice> = (set) => ({
  composer: DEFAULT_COMPOSER,
  setComposer: (patch) => set((s) => ({ composer: { ...s.composer, ...patch } })),
  setRawDraft: (patch) => set((s) => ({ composer: { ...s.composer, raw: { ...s.composer.raw, ...patch } } })),
});

// -- proxy ------------------------------------------------------------------------------

export interface ProxyForm {
  mode: 'reverse' | 'forward';
  listen: string;
  target: string;
  /** comma-separated */
  allowHosts: string;
  insecure: boolean;
}

export interface ProxySlice {
  proxy: ProxyStatus | null;
  proxyForm: ProxyForm;
  ca: CaInfo | null;
  setProxyForm(patch: Partial<ProxyForm>): void;
  /** the browsers the engine found (null until the Intercept panel first asks) */
  launchTargets: LaunchTarget[] | null;
  /** apps launched from the Intercept panel and still running, oldest first */
  apps: readonly LaunchedApp[];
  launchForm: LaunchForm;
  setLaunchForm(patch: Partial<LaunchForm>): void;
}

export interface LaunchForm {
  /** the page a browser opens (optional) */
  url: string;
  /** the terminal command, one line (shell-words.ts) */
  command: string;
  headless: boolean;
}

const proxySlice: StateCreator<AppState, [], [], ProxySlice> = (set) => ({
  proxy: null,
  proxyForm: { mode: 'reverse', listen: '127.0.0.1:8081', target: '', allowHosts: '', insecure: false },
  ca: null,
  setProxyForm: (patch) => set((s) => ({ proxyForm: { ...s.proxyForm, ...patch } })),
  launchTargets: null,
  apps: [],
  launchForm: { url: '', command: '', headless: false },
  setLaunchForm: (patch) => set((s) => ({ launchForm: { ...s.launchForm, ...patch } })),
});

// -- breakpoints ------------------------------------------------------------------------

export interface InterceptSlice {
  intercept: InterceptState;
  /** messages held at a breakpoint, by id, oldest first */
  held: ReadonlyMap<number, HeldMessage>;
  /** the held message the editor shows */
  selectedHeld: number | null;
  selectHeld(id: number | null): void;
  /** the session's rules (docs/rules.md), applied before the breakpoints */
  rules: RulesState;
  /** an earlier run's recording the engine offers back */
  previousSession: PreviousSession | null;
}

export const NO_RULES: RulesState = { rules: [], from: { client: false, server: false } };

const interceptSlice: StateCreator<AppState, [], [], InterceptSlice> = (set) => ({
  intercept: { rules: [], canInjectFrames: false },
  rules: NO_RULES,
  previousSession: null,
  held: new Map(),
  selectedHeld: null,
  selectHeld: (id) => set({ selectedHeld: id }),
});

// -- prefs ------------------------------------------------------------------------------

export interface PrefsSlice {
  prefs: Prefs;
  setPrefs(patch: Partial<Prefs>): void;
}

const prefsSlice: StateCreator<AppState, [], [], PrefsSlice> = (set) => ({
  prefs: DEFAULT_PREFS,
  setPrefs: (patch) => set((s) => ({ prefs: { ...s.prefs, ...patch } })),
});

// -- transport and notices --------------------------------------------------------------

export interface Notice {
  id: number;
  level: 'error' | 'info';
  text: string;
  connection?: string;
  /** how many times this same notice was raised (shown once, counted) */
  count?: number;
}

export type Dialog = 'ca' | 'connect-options' | 'intercept' | null;

export interface UiSlice {
  transport: TransportStatus;
  engineVersion: string | null;
  /** newest last, at most MAX_NOTICES */
  notices: readonly Notice[];
  dialog: Dialog;
  notify(level: Notice['level'], text: string, connection?: string): void;
  dismissNotice(id: number): void;
  dismissAllNotices(): void;
  setDialog(dialog: Dialog): void;
}

export const MAX_NOTICES = 3;
let noticeId = 0;
export const nextNoticeId = (): number => ++noticeId;

const uiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  transport: { state: 'connecting', attempt: 1 },
  engineVersion: null,
  notices: [],
  dialog: null,
  // The same notice again is one notice, counted and brought to the front with a new id
  // (so it stays up for its full time again), not another toast on the pile.
  notify: (level, text, connection) =>
    set((s) => {
      const same = s.notices.find((n) => n.level === level && n.text === text);
      const rest = same ? s.notices.filter((n) => n !== same) : s.notices;
      const notice: Notice = { id: nextNoticeId(), level, text, ...(connection ? { connection } : {}), ...(same ? { count: (same.count ?? 1) + 1 } : {}) };
      return { notices: [...rest, notice].slice(-MAX_NOTICES) };
    }),
  dismissAllNotices: () => set({ notices: [] }),
  dismissNotice: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
  setDialog: (dialog) => set({ dialog }),
});

// -- the store --------------------------------------------------------------------------

export type AppState = ConnectionsSlice & FramesSlice & ViewSlice & SearchSlice & ComposerSlice & ProxySlice & InterceptSlice & PrefsSlice & UiSlice;

const createAll: StateCreator<AppState> = (...a) => ({
  ...connectionsSlice(...a),
  ...framesSlice(...a),
  ...viewSlice(...a),
  ...searchSlice(...a),
  ...composerSlice(...a),
  ...proxySlice(...a),
  ...interceptSlice(...a),
  ...prefsSlice(...a),
  ...uiSlice(...a),
});

export const useAppStore = create<AppState>()(createAll);

const initialState = useAppStore.getState();

/** Back to a fresh store (tests; a different engine). Keeps the given prefs. */
export function resetStore(patch: Partial<AppState> = {}): void {
  useAppStore.setState({ ...initialState, ...patch }, true);
}
