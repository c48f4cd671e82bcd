// Work drawn after the first draw of what holds it, one piece a task. Drawn at once, the
// page's first connection (the whole pane: header, list and its first rows, handshake,
// timeline, composer; then the timeline's two charts) is 30-45 ms of main-thread CPU, much
// of it first runs (code compiled, styles and fonts looked up): a long task on a loaded
// machine. So the pane's frame is drawn first; then, one a task, each after a frame has
// drawn the one before: the first rows, the timeline, the composer, the handshake panel,
// each chart.
import { useEffect, useState, type ReactNode } from 'react';
import { flushSync } from 'react-dom';

interface Job {
  /** starts the piece; it calls `done` once drawn (or given up), and the next one may go */
  start: (done: () => void) => void;
}

const queue: Job[] = [];
let running = false;

function next(): void {
  if (queue.length === 0) {
    running = false;
    return;
  }
  running = true;
  afterNextFrame(() => {
    // Taken now, not when scheduled: one queued meanwhile with `first` goes ahead.
    const job = queue.shift();
    if (!job) running = false;
    else job.start(once(next));
  });
}

/**
 * In a task of its own after the next frame is drawn: that frame lays out and paints what
 * came before, so no frame lays out two pieces. A hidden page draws no frames: just a task.
 */
function afterNextFrame(run: () => void): void {
  if (typeof requestAnimationFrame !== 'function' || document.visibilityState === 'hidden') setTimeout(run, 0);
  else requestAnimationFrame(() => setTimeout(run, 0));
}

function once(f: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}

function enqueue(start: (done: () => void) => void, first = false): () => void {
  const job: Job = { start };
  if (first) queue.unshift(job);
  else queue.push(job);
  if (!running) next();
  return () => {
    const i = queue.indexOf(job);
    if (i >= 0) queue.splice(i, 1);
  };
}

/** Runs `run` in a task of its own, after the pieces queued before it; returns a cancel. */
export function later(run: () => void): () => void {
  return enqueue((done) => {
    try {
      run();
    } finally {
      done();
    }
  });
}

/** What has been drawn once in this page: drawn again, it no longer waits. */
const drawn = new Set<string>();

/**
 * False until a task after the first draw of the component using it (and after the pieces
 * queued before it; `first`: before all those waiting), then true. Only the first time `id`
 * is drawn in the page waits: that is when its code runs for the first time (compiled, its
 * fonts and styles looked up); later mounts are cheaper and drawn at once.
 */
export function useLater(id: string, first = false): boolean {
  const [shown, setShown] = useState(() => drawn.has(id));
  useEffect(() => {
    if (shown) {
      drawn.add(id);
      return;
    }
    const started = { done: null as (() => void) | null };
    const cancel = enqueue((done) => {
      started.done = done;
      // Rendered and committed in this task (a plain update would wait for the next frame's
      // and be drawn with it).
      flushSync(() => setShown(true));
    }, first);
    // Runs once what waited is drawn (shown changed), or when this unmounts first: either
    // way the next piece may go.
    return () => {
      cancel();
      started.done?.();
    };
  }, [shown, id, first]);
  return shown;
}

/** Its children, drawn as useLater says. */
export function Later({ id, children }: { id: string; children: ReactNode }) {
  return useLater(id) ? children : null;
}
