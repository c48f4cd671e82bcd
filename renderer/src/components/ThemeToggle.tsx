import { useAppStore } from '../store/store';
import type { ThemePref } from '../store/prefs';

const NEXT: Record<ThemePref, ThemePref> = { system: 'light', light: 'dark', dark: 'system' };
const LABEL: Record<ThemePref, string> = { system: '◐ System', light: '☀ Light', dark: '☾ Dark' };

export function ThemeToggle() {
  const theme = useAppStore((s) => s.prefs.theme);
  const setPrefs = useAppStore((s) => s.setPrefs);
  return (
    <button
      type="button"
      className="btn ghost"
      data-testid="theme-toggle"
      title={`Theme: ${theme} (click for ${NEXT[theme]})`}
      onClick={() => setPrefs({ theme: NEXT[theme] })}
    >
      {LABEL[theme]}
    </button>
  );
}
