/**
 * roar runs that are tracing right now. Each run registers itself in the store before its command starts and
 * leaves in the transaction that records its job, so a parallel run of the same project can tell the files an
 * in-flight job is writing (from that run's event stream and preload spool) from a user's uncommitted work.
 * Private temp directories carry their owner's pid and start time, so a later run can remove those a killed
 * roar left behind.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { classifyEvents } from "../core/classify.ts";
import type { RunInFlight } from "../core/types.ts";
import { formatSize } from "../core/units.ts";
import { RoarError } from "../shared/errors.ts";
import type { RoarStore } from "../store/store.ts";
import { collectEvents } from "../trace/preload-files.ts";

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null if it is gone. */
export function processStartTime(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : null;
}

const SELF_START = processStartTime(process.pid);

/** True when the process that registered `run` is gone (or its pid now belongs to another process). */
export function isDead(run: Pick<RunInFlight, "pid" | "pidStart">): boolean {
  const start = processStartTime(run.pid);
  return start === null || (run.pidStart !== null && start !== run.pidStart);
}

/** Free space roar wants in $TMPDIR before it starts a command: its event stream and the spool slots processes borrow. */
export const MIN_TEMP_SPACE = 16 * 1024 * 1024;

/**
 * Refuses to start a command when $TMPDIR is (nearly) full: the trace would be lost, and roar must never change
 * the command's behaviour for lack of its own space. (A disk that fills during the run marks the job
 * incomplete instead: see the tracers' lost-record counts.)
 */
export function requireTempSpace(dir = tmpdir(), min = MIN_TEMP_SPACE): void {
  let free: number;
  try {
    const fs = statfsSync(dir);
    free = fs.bavail * fs.bsize;
  } catch (error) {
    throw new RoarError(`cannot use the temporary directory ${dir}: ${(error as Error).message}`, 125);
  }
  if (free < min)
    throw new RoarError(
      `not enough free space in the temporary directory ${dir} (${formatSize(free)} free, roar needs ${formatSize(min)} for the trace)`,
      125,
      "Free some space there, or point TMPDIR at a directory with more room.",
    );
}

/**
 * roar's own directory in $TMPDIR, `roar-<uid>` (0700, this user's, writable by nobody else): runs keep their
 * private directories there, so finding the ones a killed roar left reads one small directory, not all of /tmp.
 * Falls back to $TMPDIR itself when that directory is someone else's.
 */
export function roarTempRoot(): string {
  const base = tmpdir();
  const uid = process.getuid?.() ?? 0;
  const root = join(base, `roar-${uid}`);
  try {
    mkdirSync(root, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") return base;
  }
  try {
    const st = lstatSync(root);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? root : base;
  } catch {
    return base;
  }
}

/** A private temp directory named after this process, so that a later run can tell when it was left behind. */
export function privateTempDir(kind: string, base = roarTempRoot()): string {
  return mkdtempSync(join(base, `${kind}-${process.pid}-${SELF_START ?? 0}-`));
}

const OWNED = /^[a-z]+-(\d+)-(\d+)-/;

/**
 * Removes private temp directories whose roar process is gone (killed before cleaning). Called while the
 * traced command runs, so the time overlaps with it; rare, so done synchronously (roar may exit right after).
 */
export function removeAbandonedTempDirs(dir = roarTempRoot()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = OWNED.exec(name);
    if (!m) continue;
    if (!isDead({ pid: Number(m[1]), pidStart: Number(m[2]) || null })) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // being removed by another run
    }
  }
}

/** Registers this run as tracing (removing registrations of dead runs); returns its registration. */
export function registerRun(store: RoarStore, traceDir: string): RunInFlight {
  const run: RunInFlight = {
    id: `${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2, 10)}`,
    pid: process.pid,
    pidStart: SELF_START,
    startedAt: Date.now(),
    traceDir,
  };
  store.registerRun(run, isDead);
  return run;
}

/** The events file of a run's private directory (the preload spool is `<events>.spool`). */
export function eventsPathIn(traceDir: string): string {
  return join(traceDir, "events.bin");
}

/**
 * Absolute paths the live in-flight runs of this project have written so far, read from their event streams
 * and spools. A tracer may hold its latest records for a moment; a file written in that moment still counts
 * as the user's, which errs on the side of refusing.
 */
export function inFlightWrites(store: RoarStore): Set<string> {
  const written = new Set<string>();
  for (const run of store.runsInFlight()) {
    if (run.pid === process.pid || isDead(run)) continue;
    // The backend's stream, and preload's own stream under the hybrid backend (see src/trace/hybrid.ts).
    for (const events of [eventsPathIn(run.traceDir), `${eventsPathIn(run.traceDir)}.preload`]) {
      let collected: ReturnType<typeof collectEvents>;
      try {
        collected = collectEvents(events, `${events}.spool`);
      } catch {
        continue; // the run finished and removed its directory meanwhile
      }
      for (const f of classifyEvents(collected.events).files.values())
        if (f.written || f.maybeWritten || f.deleted) written.add(f.path);
    }
  }
  return written;
}
