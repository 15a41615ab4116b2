import type { TraceEvent } from "../schema/events.ts";

export type BackendName = "ptrace" | "preload" | "hybrid";

/** Which mechanism recorded a process's file activity (hybrid backend). */
export interface ProcessCoverage {
  pid: number;
  mechanism: "preload" | "ptrace";
  /** Why preload could not cover it (ptrace only): static_binary, preload_stripped, setuid_exec, libc_bypass, foreign_elf. */
  reason?: string;
}

/** What a backend needs to run one traced command. */
export interface TraceRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Where the backend writes the msgpack event stream (a file in a private temp dir). */
  eventsPath: string;
  /**
   * Sees events while the command still runs, as the backend decodes them (preload's stream under the preload
   * and hybrid backends, the tracer's under ptrace): `events[from..]` are new. For work that can start early;
   * the outcome's events remain what counts.
   */
  observe?: (events: readonly TraceEvent[], from: number) => void;
  /**
   * Called once when the command has ended (no process of it left), before the rest of its stream is read and the
   * outcome built: for work that must not start while it runs but need not wait for the outcome.
   */
  ended?: () => void;
}

/** How the traced command ended, docker-run style: exactly one of exitCode / signal / spawnError is set. */
export interface TraceOutcome {
  backend: BackendName;
  exitCode: number | null;
  signal: number | null;
  /** The command could not be started at all: 127 not found, 126 not executable. */
  spawnError: { code: 126 | 127; message: string } | null;
  events: TraceEvent[];
  /** Reasons the trace may miss file activity (deduplicated); empty = complete. */
  incomplete: { reason: string; detail: string; pid: number }[];
  /**
   * Hybrid backend: which mechanism recorded each process (a process that exec'd into an image of the other
   * kind appears once per mechanism, in order). Absent for the single-mechanism backends.
   */
  coverage?: ProcessCoverage[];
  startedAt: number;
  durationMs: number;
}

/** A running trace: the outcome, plus a way to forward signals to the traced process tree. */
export interface RunningTrace {
  /** pid of the top traced process once known. */
  readonly pid: Promise<number>;
  readonly done: Promise<TraceOutcome>;
  /** Sends a signal to the traced command (e.g. SIGKILL on a second Ctrl-C). */
  kill(signal: NodeJS.Signals | number): void;
  /**
   * Passes on a signal roar received, unless it was sent to the whole process group (then the command, in
   * the same group, already has it): see trace/sentinel.ts.
   */
  forward(signal: NodeJS.Signals): void;
}

export interface TracerBackend {
  name: BackendName;
  /** Can this backend run here? A quick capability probe that never runs the user's command. */
  probe(): { usable: boolean; reason: string; library: string | null };
  start(request: TraceRequest): RunningTrace;
}
