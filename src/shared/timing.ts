/**
 * ROAR_TIMING=1 prints where roar's own time goes (on stderr), step by step, for profiling its overhead: each
 * step's wall time, the CPU time roar's JavaScript thread spent in it (what it did, not what it waited for), and
 * roar's page faults so far (a fresh page costs ~1.6 µs on the benchmark VM: a measure of memory churn).
 */
import { writeSync } from "node:fs";

const timing = process.env.ROAR_TIMING ? { last: performance.now(), clock: threadClock(), lastCpu: 0 } : null;
if (timing) timing.lastCpu = timing.clock();

/**
 * The calling thread's CPU time in ms (clock_gettime CLOCK_THREAD_CPUTIME_ID, exact; /proc's figures move in
 * scheduler ticks), or NaN where it cannot be read. Loaded only with ROAR_TIMING.
 */
function threadClock(): () => number {
  try {
    const { dlopen, FFIType, ptr } = require("bun:ffi") as typeof import("bun:ffi");
    const libc = dlopen("libc.so.6", { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
    const ts = new BigInt64Array(2);
    const at = ptr(ts);
    const CLOCK_THREAD_CPUTIME_ID = 3;
    return () =>
      libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, at) === 0
        ? Number(ts[0]) * 1e3 + Number(ts[1]) / 1e6
        : Number.NaN;
  } catch {
    return () => Number.NaN;
  }
}

export function mark(label: string): void {
  if (!timing) return;
  const now = performance.now();
  const cpu = timing.clock();
  // A plain write(2): Node's process.stderr would add its own loading time to what is measured.
  writeSync(
    2,
    `roar timing: ${label.padEnd(16)} +${(now - timing.last).toFixed(1)} ms (at ${now.toFixed(1)} ms; thread cpu +${(cpu - timing.lastCpu).toFixed(1)} ms; page faults ${process.resourceUsage().minorPageFault})\n`,
  );
  timing.last = now;
  timing.lastCpu = cpu;
}
