/**
 * ROAR_TIMING=1 prints where roar's own time goes (on stderr), step by step, for profiling its overhead: each
 * step's wall time, and the CPU time roar's JavaScript thread spent in it (what it did, not what it waited for).
 */
import { readFileSync, writeSync } from "node:fs";

const timing = process.env.ROAR_TIMING ? { last: performance.now(), lastCpu: threadCpuMs() } : null;

/** The calling thread's time on a CPU so far (the first field of its schedstat, in ns), or NaN where unknown. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ", 1)[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

export function mark(label: string): void {
  if (!timing) return;
  const now = performance.now();
  const cpu = threadCpuMs();
  // A plain write(2): Node's process.stderr would add its own loading time to what is measured.
  writeSync(
    2,
    `roar timing: ${label.padEnd(16)} +${(now - timing.last).toFixed(1)} ms (at ${now.toFixed(1)} ms; thread cpu +${(cpu - timing.lastCpu).toFixed(1)} ms)\n`,
  );
  timing.last = now;
  timing.lastCpu = cpu;
}
