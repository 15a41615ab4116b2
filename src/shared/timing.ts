/** ROAR_TIMING=1 prints where roar's own time goes (on stderr), step by step, for profiling its overhead. */
import { writeSync } from "node:fs";

const timing = process.env.ROAR_TIMING ? { last: performance.now() } : null;

export function mark(label: string): void {
  if (!timing) return;
  const now = performance.now();
  // A plain write(2): Node's process.stderr would add its own loading time to what is measured.
  writeSync(2, `roar timing: ${label.padEnd(16)} +${(now - timing.last).toFixed(1)} ms (at ${now.toFixed(1)} ms)\n`);
  timing.last = now;
}
