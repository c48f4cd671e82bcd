// Epoch milliseconds with microsecond resolution (docs/contracts.md: "time": fractional ms).
// performance.now() is monotonic; anchoring it to timeOrigin gives wall-clock times that
// never run backwards within one process.
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

export function now(): number {
  return Math.round((origin + performance.now()) * 1000) / 1000;
}
