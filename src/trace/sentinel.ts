/**
 * Telling a signal sent to roar alone from one sent to its whole process group (a terminal's Ctrl-C,
 * `timeout`, `kill -- -PGID`): the traced command, in the same group, already got the latter and must not get
 * it twice. Each tracer library holds a sentinel (rust/crates/roar-sys/src/sentinel.rs): a process in roar's
 * group that blocks every signal and counts the ones it receives. A signal the sentinel received too (counted,
 * or still pending in /proc/<pid>/status) came from the group.
 */
import { FFIType } from "bun:ffi";
import { readFileSync } from "node:fs";
import { constants } from "node:os";

export const sentinelSymbols = {
  roar_sentinel_start: { args: [], returns: FFIType.i32 },
  roar_sentinel_count: { args: [FFIType.i32], returns: FFIType.u32 },
  roar_sentinel_stop: { args: [], returns: FFIType.void },
} as const;

interface SentinelFunctions {
  roar_sentinel_start(): number;
  roar_sentinel_count(sig: number): number;
  roar_sentinel_stop(): void;
}

/** Pending signals of a process (shared and thread-private), as a bit mask: bit N-1 = signal N. */
function pendingSignals(pid: number): bigint {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "latin1");
    let mask = 0n;
    for (const field of ["SigPnd", "ShdPnd"]) {
      const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)`, "m").exec(status)?.[1];
      if (hex) mask |= BigInt(`0x${hex}`);
    }
    return mask;
  } catch {
    return 0n;
  }
}

/** How long a signal that looks sent to roar alone waits before it is passed on (its group twin may follow). */
const SETTLE_MS = 30;
/** Signals this close to a group signal are taken for the same one. */
const GROUP_WINDOW_MS = 250;

export class SignalSentinel {
  private readonly pid: number;
  private readonly seen = new Map<number, number>();
  private readonly lastGroup = new Map<number, number>();

  /** Starts the library's sentinel; null when it cannot (then every signal is forwarded, as before). */
  static start(lib: SentinelFunctions): SignalSentinel | null {
    const pid = lib.roar_sentinel_start();
    return pid > 0 ? new SignalSentinel(lib, pid) : null;
  }

  private constructor(
    private readonly lib: SentinelFunctions,
    pid: number,
  ) {
    this.pid = pid;
  }

  /**
   * Decides whether a signal roar received is passed on, calling `send` when it was not (also) sent to the whole
   * process group: such a signal already reached the command. A sender may signal roar and its group one right
   * after the other (`timeout` does both): a signal within a moment of a group signal counts as that same one, and
   * a signal that looks direct is sent after a short wait, in case its group twin is still on its way.
   */
  forward(signal: NodeJS.Signals, send: () => void): void {
    const n = constants.signals[signal];
    if (n === undefined || this.sawGroupSignal(n)) return;
    setTimeout(() => {
      if (!this.sawGroupSignal(n)) send();
    }, SETTLE_MS);
  }

  /** The sentinel got signal `n` now or within the last GROUP_WINDOW_MS. */
  private sawGroupSignal(n: number): boolean {
    const now = performance.now();
    const count = this.lib.roar_sentinel_count(n);
    if (count > (this.seen.get(n) ?? 0) || (pendingSignals(this.pid) & (1n << BigInt(n - 1))) !== 0n) {
      this.seen.set(n, count);
      this.lastGroup.set(n, now);
      return true;
    }
    return now - (this.lastGroup.get(n) ?? Number.NEGATIVE_INFINITY) < GROUP_WINDOW_MS;
  }

  stop(): void {
    this.lib.roar_sentinel_stop();
  }
}
