// Asks again when something changes, but at most once per interval and never two questions
// at once: a live connection changes with every pushed batch (up to 60 a second), and each
// answer costs the engine a pass over its buckets.
import { useEffect, useRef } from 'react';

/**
 * Runs `run` when `key` or `tick` changes: at once for a new key, else no sooner than `ms`
 * after the last run began, and after the one in flight has finished (the last change is
 * never lost). Runs for an earlier key are forgotten.
 */
export function useThrottled(key: string, tick: unknown, ms: number, run: (isCurrent: () => boolean) => Promise<unknown>): void {
  const fn = useRef(run);
  fn.current = run;
  const st = useRef({ gen: 0, inflight: false, again: false, last: 0, timer: null as ReturnType<typeof setTimeout> | null });
  useEffect(() => {
    const s = st.current;
    s.gen++;
    s.inflight = false;
    s.again = false;
    s.last = 0;
    return () => {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      s.gen++;
    };
  }, [key]);
  useEffect(() => {
    const s = st.current;
    const gen = s.gen;
    const current = () => gen === s.gen;
    const go = () => {
      s.timer = null;
      if (!current()) return;
      s.inflight = true;
      s.last = performance.now();
      void fn.current(current).finally(() => {
        if (!current()) return;
        s.inflight = false;
        if (s.again) {
          s.again = false;
          schedule();
        }
      });
    };
    const schedule = () => {
      if (s.inflight) {
        s.again = true;
        return;
      }
      if (s.timer) return;
      s.timer = setTimeout(go, Math.max(0, s.last + ms - performance.now()));
    };
    schedule();
  }, [key, tick, ms]);
}
