// What the UI remembers between sessions, in localStorage: theme, time column mode, row density, the
// connect form's options, the recent targets and the timeline's settings. Read defensively
// (a hand-edited or older value must not break the page), written whole.
export type ThemePref = 'system' | 'light' | 'dark';

export interface ConnectOptions {
  /** one "Name: value" a line */
  headers: string;
  /** comma- or space-separated */
  protocols: string;
  deflate: boolean;
  verifyTls: boolean;
  /** observer stance: record protocol violations, keep the connection open (`connect --tolerant`) */
  tolerant: boolean;
}

export interface Prefs {
  theme: ThemePref;
  /** the time column: since the connection started, the wall clock, or since the row above */
  timeMode: TimeMode;
  /** the frame list's row height */
  density: 'comfortable' | 'compact';
  recentTargets: string[];
  connectOptions: ConnectOptions;
  /** the timeline panel is shown above the frame list */
  timeline: boolean;
  /** the timeline shows the selected connection or every connection */
  timelineScope: 'connection' | 'all';
}

export type TimeMode = 'relative' | 'absolute' | 'delta';
export const TIME_MODES: readonly TimeMode[] = ['relative', 'absolute', 'delta'];

export const MAX_RECENT = 12;
export const PREFS_KEY = 'framescope.prefs.v1';

export const DEFAULT_PREFS: Prefs = {
  theme: 'system',
  timeMode: 'relative',
  density: 'comfortable',
  recentTargets: [],
  connectOptions: { headers: '', protocols: '', deflate: true, verifyTls: true, tolerant: false },
  timeline: true,
  timelineScope: 'connection',
};

export function loadPrefs(storage: Pick<Storage, 'getItem'> | null): Prefs {
  let raw: unknown;
  try {
    const text = storage?.getItem(PREFS_KEY);
    raw = text ? JSON.parse(text) : null;
  } catch {
    raw = null;
  }
  if (typeof raw !== 'object' || raw === null) return DEFAULT_PREFS;
  const r = raw as Record<string, unknown>;
  const o = (typeof r.connectOptions === 'object' && r.connectOptions !== null ? r.connectOptions : {}) as Record<string, unknown>;
  const d = DEFAULT_PREFS.connectOptions;
  return {
    theme: r.theme === 'light' || r.theme === 'dark' || r.theme === 'system' ? r.theme : DEFAULT_PREFS.theme,
    timeMode: TIME_MODES.includes(r.timeMode as TimeMode) ? (r.timeMode as TimeMode) : DEFAULT_PREFS.timeMode,
    density: r.density === 'compact' ? 'compact' : 'comfortable',
    recentTargets: Array.isArray(r.recentTargets)
      ? r.recentTargets.filter((t): t is string => typeof t === 'string' && t.length <= 8192).slice(0, MAX_RECENT)
      : [],
    connectOptions: {
      headers: typeof o.headers === 'string' ? o.headers.slice(0, 65536) : d.headers,
      protocols: typeof o.protocols === 'string' ? o.protocols.slice(0, 4096) : d.protocols,
      deflate: typeof o.deflate === 'boolean' ? o.deflate : d.deflate,
      verifyTls: typeof o.verifyTls === 'boolean' ? o.verifyTls : d.verifyTls,
      tolerant: typeof o.tolerant === 'boolean' ? o.tolerant : d.tolerant,
    },
    timeline: typeof r.timeline === 'boolean' ? r.timeline : DEFAULT_PREFS.timeline,
    timelineScope: r.timelineScope === 'all' ? 'all' : 'connection',
  };
}

export function savePrefs(storage: Pick<Storage, 'setItem'> | null, prefs: Prefs): void {
  try {
    storage?.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // storage full or disabled (private mode): the prefs live for this page only
  }
}

/** The target first, without duplicates, at most MAX_RECENT. */
export function rememberTarget(list: readonly string[], url: string): string[] {
  return [url, ...list.filter((u) => u !== url)].slice(0, MAX_RECENT);
}

export function localStorageOrNull(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
