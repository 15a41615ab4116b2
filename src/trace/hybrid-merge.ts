/**
 * Merging the two event streams of a hybrid trace (see rust/crates/roar-ptrace/src/hybrid.rs): the preload
 * library's records and the ptrace supervisor's, with the supervisor's coverage log saying, per process and
 * over time, which mechanism records it. A record is kept only when it comes from the mechanism that owned
 * its process at its timestamp, so nothing is counted twice:
 *
 * - covered processes: preload's records only (ptrace never stops them for file syscalls anyway);
 * - uncovered ones (static, preload stripped, set-id, Go/Bun): ptrace's records only (preload may still be
 *   loaded in a Go/Bun process, or in a child of a stepped process: its records there are dropped).
 *
 * Two corrections: preload's INCOMPLETE records about images it cannot enter (static_binary, setuid_exec,
 * libc_bypass, preload_stripped) are dropped — the supervisor decides at every exec of the tree with checks at
 * least as strict and traces those images itself — and a process preload covered that never wrote its EXIT
 * (killed by a signal, reaped by nobody traced) gets one from the supervisor's exit log.
 */
import type { TraceEvent } from "../schema/events.ts";
import type { ProcessCoverage } from "./types.ts";

export type Mechanism = ProcessCoverage["mechanism"];

export type CoverageEntry =
  | { kind: "exec"; pid: number; ts: number; mechanism: Mechanism; reason: string | null }
  | { kind: "fork"; pid: number; ts: number; mechanism: Mechanism; parent: number }
  | { kind: "exit"; pid: number; ts: number; status: number };

/** Parses the coverage log (`S|F|E` lines, see hybrid.rs). Unknown or partial lines are skipped. */
export function parseCoverage(text: string): CoverageEntry[] {
  const out: CoverageEntry[] = [];
  for (const line of text.split("\n")) {
    const [kind, pidText, tsText, a, b] = line.split(" ");
    const pid = Number(pidText);
    const ts = Number(tsText);
    if (!Number.isFinite(pid) || !Number.isFinite(ts) || a === undefined) continue;
    const mechanism: Mechanism = a === "t" ? "ptrace" : "preload";
    if (kind === "S") out.push({ kind: "exec", pid, ts, mechanism, reason: b && b !== "-" ? b : null });
    else if (kind === "F") out.push({ kind: "fork", pid, ts, mechanism, parent: Number(b ?? 0) });
    else if (kind === "E") out.push({ kind: "exit", pid, ts, status: Number(a) });
  }
  return out;
}

/** INCOMPLETE reasons of preload that the supervisor resolves by tracing the image itself. */
export const TAKEN_OVER = new Set(["static_binary", "setuid_exec", "libc_bypass", "preload_stripped", "foreign_elf"]);

/** Per process, the mechanism switches in time order. */
class Ownership {
  private readonly switches = new Map<number, { ts: number; mechanism: Mechanism }[]>();

  constructor(entries: CoverageEntry[]) {
    for (const e of entries) {
      if (e.kind === "exit") continue;
      let list = this.switches.get(e.pid);
      if (!list) {
        list = [];
        this.switches.set(e.pid, list);
      }
      list.push({ ts: e.ts, mechanism: e.mechanism });
    }
    for (const list of this.switches.values()) list.sort((x, y) => x.ts - y.ts);
  }

  /** The last answer, with the times it holds for: a process's records come in runs (tens of thousands a job). */
  private last = { pid: Number.NaN, from: 0, until: 0, owner: null as Mechanism | null };

  /** The mechanism owning `pid` at `ts`, or null when the log says nothing about it then. */
  at(pid: number, ts: number): Mechanism | null {
    const last = this.last;
    if (pid === last.pid && ts >= last.from && ts < last.until) return last.owner;
    const list = this.switches.get(pid);
    let owner: Mechanism | null = null;
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    for (const s of list ?? []) {
      if (s.ts > ts) {
        until = s.ts;
        break;
      }
      owner = s.mechanism;
      from = s.ts;
    }
    this.last = { pid, from, until, owner };
    return owner;
  }
}

function waitStatus(status: number): { code: number | null; signal: number | null } {
  return (status & 0x7f) === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: status & 0x7f };
}

export interface Merged {
  events: TraceEvent[];
  coverage: ProcessCoverage[];
}

export function mergeHybrid(ptraceEvents: TraceEvent[], preloadEvents: TraceEvent[], log: CoverageEntry[]): Merged {
  const owner = new Ownership(log);
  // Most trees run under preload alone: its records then need no ownership check (tens of thousands a job).
  const ptraceOwnsAny = log.some((c) => c.kind !== "exit" && c.mechanism === "ptrace");
  let events: TraceEvent[] = [];
  // Process starts and EXIT records kept, for the EXITs the preload side could not write (after the loop).
  const started = new Map<number, number>(); // pid → ts of its latest start
  const exited = new Map<number, number>(); // pid → ts of its latest EXIT
  // Where ptrace owned no process (most trees), every open of preload's is kept: only its other records (a few
  // hundred against tens of thousands of opens) are looked at one by one, and the kept ones join the merged list
  // by slices, in their order, not by one push each.
  const preloadAsIs = !ptraceOwnsAny;
  let preloadOthers: TraceEvent[] = preloadEvents;
  if (preloadAsIs) {
    preloadOthers = [];
    for (let i = 0; i < preloadEvents.length; i++)
      if ((preloadEvents[i] as TraceEvent).kind !== "open") preloadOthers.push(preloadEvents[i] as TraceEvent);
  }
  /** Preload's records left out, in stream order (preloadAsIs: the rest is kept whole). */
  const leftOut: TraceEvent[] = [];
  // One loop over both streams (each record's code runs once, mostly before the JIT has compiled it).
  const streams = [ptraceEvents, preloadOthers];
  for (let stream = 0; stream < 2; stream++) {
    const fromPreload = stream === 1;
    for (const e of streams[stream] as TraceEvent[]) {
      const kind = e.kind;
      if (fromPreload) {
        // The merged trace keeps the supervisor's header; images preload could not enter are the supervisor's.
        if (
          kind === "header" ||
          (kind === "incomplete" && TAKEN_OVER.has(e.reason)) ||
          (kind !== "dropped" && ptraceOwnsAny && owner.at(e.pid, e.ts) === "ptrace")
        ) {
          leftOut.push(e);
          continue;
        }
      } else if (kind !== "header" && kind !== "incomplete" && kind !== "dropped") {
        // INCOMPLETE from the supervisor (io_uring, foreign ABI) holds for any process.
        if (owner.at(e.pid, e.ts) === "preload") continue;
      }
      if (!(fromPreload && preloadAsIs)) events.push(e);
      if (kind === "open") continue;
      if (kind === "proc_start" || kind === "exec") started.set(e.pid, Math.max(started.get(e.pid) ?? 0, e.ts));
      else if (kind === "fork" && (e.flags & 2) === 0) started.set(e.child, Math.max(started.get(e.child) ?? 0, e.ts));
      else if (kind === "exit") exited.set(e.pid, Math.max(exited.get(e.pid) ?? 0, e.ts));
    }
  }
  if (preloadAsIs) {
    let from = 0;
    for (const e of leftOut) {
      const at = preloadEvents.indexOf(e, from);
      events = events.concat(preloadEvents.slice(from, at));
      from = at + 1;
    }
    events = events.concat(preloadEvents.slice(from));
  }
  for (const c of log) {
    if (c.kind !== "exit") continue;
    const since = started.get(c.pid);
    if (since === undefined || (exited.get(c.pid) ?? -1) >= since) continue;
    events.push({ kind: "exit", pid: c.pid, seq: 0, ts: c.ts, ...waitStatus(c.status) });
    exited.set(c.pid, c.ts);
  }

  // One entry per process and mechanism run (a process that exec'd into an image of the other kind twice).
  const coverage: ProcessCoverage[] = [];
  const current = new Map<number, ProcessCoverage>();
  for (const c of [...log].sort((x, y) => x.ts - y.ts)) {
    if (c.kind === "exit") continue;
    const reason = c.kind === "exec" ? c.reason : null;
    const now = current.get(c.pid);
    if (now?.mechanism === c.mechanism) {
      if (reason && !now.reason) now.reason = reason;
      continue;
    }
    const entry: ProcessCoverage = reason
      ? { pid: c.pid, mechanism: c.mechanism, reason }
      : { pid: c.pid, mechanism: c.mechanism };
    current.set(c.pid, entry);
    coverage.push(entry);
  }
  return { events, coverage };
}
