// Small hooks shared by the components.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { useAppStore } from '../store/store';

const darkQuery = (): MediaQueryList | null =>
  typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

/** Whether the OS asks for dark, following changes. */
export function useOsDark(): boolean {
  return useSyncExternalStore(
    (cb) => {
      const q = darkQuery();
      q?.addEventListener('change', cb);
      return () => q?.removeEventListener('change', cb);
    },
    () => darkQuery()?.matches ?? true,
    () => true,
  );
}

/** Applies the theme pref (system follows the OS) to <html data-theme>. */
export function useTheme(): 'light' | 'dark' {
  const pref = useAppStore((s) => s.prefs.theme);
  const osDark = useOsDark();
  const theme = pref === 'system' ? (osDark ? 'dark' : 'light') : pref;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return theme;
}

/** The time, refreshed every `ms` while `active` (durations of live connections). */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}
