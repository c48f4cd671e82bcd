// Work drawn after the first draw of what holds it, one piece a task. Opening the first
// connection mounts the whole pane (header, list and its rows, timeline, composer) and makes
// the timeline's charts: in one task that was 30-45 ms of main-thread CPU (much of it first
// runs: code compiled, fonts and styles looked up), a long task on a loaded machine. The
// parts that can wait a task (the composer, the timeline, each chart) come one by one after.
import { useEffect, useState, type ReactNode } from 'react';
import { flushSync } from 'react-dom';

interface Job {
  /** starts the piece; it calls `done` once drawn (or given up), and the next one may go */
  start: (done: () => void) => void;
  cancelled: boolean;
}

const queue: Job[] = [];
let running = false;

function next(): void {
  const job = queue.shift();
  if (!job) {
    running = false;
    return;
  }
  running = true;
  afterNextFrame(() => {
    if (job.cancelled) next();
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

function enqueue(start: (done: () => void) => void): () => void {
  const job: Job = { start, cancelled: false };
  queue.push(job);
  if (!running) next();
  return () => {
    job.cancelled = true;
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
 * Its children, drawn a task after the first draw of what holds them (and after the pieces
 * queued before them). Only the first time `id` is drawn in the page waits: that is when its
 * code runs for the first time; later mounts are cheaper and drawn at once.
 */
export function Later({ id, children }: { id: string; children: ReactNode }) {
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
    });
    // Runs once the children are drawn (shown changed), or when this unmounts first: either
    // way the next piece may go.
    return () => {
      cancel();
      started.done?.();
    };
  }, [shown, id]);
  return shown ? children : null;
}
