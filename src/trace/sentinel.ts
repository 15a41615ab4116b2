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

export class SignalSentinel {
  private readonly pid: number;
  private readonly seen = new Map<number, number>();

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

  /** True when `signal` (just received by roar) was sent to the whole process group. */
  fromGroup(signal: NodeJS.Signals): boolean {
    const n = constants.signals[signal];
    if (n === undefined) return false;
    const seen = this.seen.get(n) ?? 0;
    const fromGroup =
      this.lib.roar_sentinel_count(n) > seen || (pendingSignals(this.pid) & (1n << BigInt(n - 1))) !== 0n;
    if (fromGroup) this.seen.set(n, seen + 1);
    return fromGroup;
  }

  stop(): void {
    this.lib.roar_sentinel_stop();
  }
}
