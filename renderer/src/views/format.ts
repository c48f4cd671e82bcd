// Numbers, sizes and times as the UI writes them.
const grouped = new Intl.NumberFormat('en-US');
/** 1,234,567 (one shared formatter: toLocaleString per call is slow in a list) */
export const formatCount = (n: number): string => grouped.format(n);

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** How long a connection has lasted: whole ms under a second, then s, m, h. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  return formatDuration(ms);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Local wall-clock time with milliseconds and microseconds: 14:03:07.123456 */
/**
 * The day in the user's locale (as toLocaleDateString), from one formatter made as the page
 * loads: the first one made costs 10-20 ms (the locale's date patterns are loaded), which
 * would otherwise land in the first draw of a connection.
 */
const dateFormat = new Intl.DateTimeFormat();
export const formatDate = (epochMs: number): string => dateFormat.format(epochMs);

export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  const micros = Math.floor((epochMs - Math.floor(epochMs)) * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${pad(micros, 3)}`;
}

/** Seconds since the connection started: +12.345678 */
export function formatRelative(epochMs: number, startMs: number): string {
  const s = (epochMs - startMs) / 1000;
  return `${s < 0 ? '-' : '+'}${Math.abs(s).toFixed(6)}`;
}
