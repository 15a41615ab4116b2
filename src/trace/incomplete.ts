/**
 * What a trace may have missed, for every backend: the tracers' INCOMPLETE records, processes that never
 * reported their exit, and records that were dropped, cut or could not be written at all (a full disk).
 */
import { ForkFlags, type TraceEvent } from "../schema/events.ts";
import type { TraceOutcome } from "./types.ts";

export type Incomplete = TraceOutcome["incomplete"][number];

export interface StreamLosses {
  /** Bytes at the end of a stream that never formed a whole record. */
  truncatedTail?: boolean;
  /** Records the tracers counted as not written (no space left for the events file). */
  unwritten?: number;
  /** Hybrid: the log of which mechanism covered which process was not written. */
  coverageLost?: boolean;
}

/** Reasons that say the tracer could not enter a process's image at all. */
const UNENTERED = new Set(["setuid_exec", "foreign_elf", "static_binary", "preload_stripped"]);

/** Reasons in the order first given, each once (the same reason and detail from several records is one). */
function distinct(reasons: Iterable<Incomplete>): Incomplete[] {
  const out = new Map<string, Incomplete>();
  for (const i of reasons) {
    const key = `${i.reason}\0${i.detail}`;
    if (!out.has(key)) out.set(key, i);
  }
  return [...out.values()];
}

/**
 * The job's verdict: every reason its record may miss something — the trace's own (above), then what recording
 * found (see uncapturedInput). Empty: the job is complete.
 */
export function traceVerdict(traced: readonly Incomplete[], recorded: readonly Incomplete[] = []): Incomplete[] {
  return distinct([...traced, ...recorded]);
}

/** An input the job read and then rewrote, whose content roar could not identify (see run/record/content.ts). */
export function uncapturedInput(path: string): Incomplete {
  return {
    reason: "input_not_captured",
    detail: `${path}: read, then rewritten by the job before roar could identify its content (larger than the capture limit, or not capturable)`,
    pid: 0,
  };
}

export function incompleteReasons(events: readonly TraceEvent[], losses: StreamLosses = {}): Incomplete[] {
  const out: Incomplete[] = [];
  const add = (i: Incomplete) => out.push(i);
  const processes = new Map<number, string>();
  const exited = new Set<number>();
  // An image the tracer could not enter (a set-id program run untraced, a 32-bit or static program under
  // preload) cannot report its exit: that is part of the reason already given for it.
  const unseen = new Set<number>();
  for (const e of events) {
    switch (e.kind) {
      case "incomplete":
        add({ reason: e.reason, detail: e.detail, pid: e.pid });
        if (UNENTERED.has(e.reason)) unseen.add(e.pid);
        break;
      case "dropped":
        add({ reason: "lost_events", detail: `${e.count} records not delivered by pid ${e.pid}`, pid: e.pid });
        break;
      case "fork":
        if (!(e.flags & ForkFlags.THREAD) && !processes.has(e.child)) processes.set(e.child, "");
        break;
      case "proc_start":
        processes.set(e.pid, e.exe);
        break;
      case "exec":
        if (!processes.get(e.pid)) processes.set(e.pid, e.path);
        break;
      case "exit":
        exited.add(e.pid);
        break;
    }
  }
  for (const [pid, exe] of processes) {
    if (!exited.has(pid) && !unseen.has(pid))
      add({ reason: "no_exit_record", detail: `pid ${pid}${exe ? ` (${exe})` : ""}`, pid });
  }
  if (losses.truncatedTail) add({ reason: "lost_events", detail: "the event stream ends in a partial record", pid: 0 });
  if (losses.unwritten)
    add({ reason: "lost_events", detail: `${losses.unwritten} records could not be written (no space left)`, pid: 0 });
  if (losses.coverageLost)
    add({ reason: "lost_events", detail: "the hybrid coverage log could not be written", pid: 0 });
  return distinct(out);
}

/**
 * What roar says on stderr about set-id programs of the job (ReproZip warns here too): a traced exec would lose
 * the program's privilege, so it ran untraced — or, where no_new_privs was already set (the ptrace backend as
 * a non-root user), it ran without its privilege.
 */
export function setIdWarnings(outcome: Pick<TraceOutcome, "incomplete">): string[] {
  return outcome.incomplete
    .filter((i) => i.reason === "setuid_exec")
    .map((i) =>
      i.detail.endsWith("no_new_privs)")
        ? `warning: set-id program ${i.detail}; use --tracer hybrid or preload to keep its privilege — the job is incomplete`
        : `warning: set-id program ${i.detail} ran untraced (traced, it would lose its privilege): the job is incomplete`,
    );
}
