/**
 * The hybrid tracer backend (`tracer.default = auto` where ptrace is permitted): the whole process tree runs
 * with the LD_PRELOAD library (preload speed), under a ptrace supervisor (libroar_ptrace in hybrid mode) that
 * only stops on fork/clone/exec/exit and a few rare syscalls. At each exec it decides whether preload covers
 * the new image; the processes it does not cover (static binaries, stripped environments, set-id programs,
 * Go/Bun) are stepped syscall by syscall and recorded by the supervisor itself. The two streams are merged
 * per process with the supervisor's coverage log (src/trace/hybrid-merge.ts).
 *
 * Files next to `eventsPath`: the supervisor's stream at `eventsPath`, preload's at `<eventsPath>.preload`
 * (spool `<eventsPath>.preload.spool`), the coverage log at `<eventsPath>.coverage`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { TRACER_ABI_VERSION } from "../schema/events.ts";
import { nulBlock, pathToBytes } from "../shared/paths.ts";
import { mark } from "../shared/timing.ts";
import { FileTail, headerRecord } from "./events.ts";
import { mergeHybrid, parseCoverage } from "./hybrid-merge.ts";
import { incompleteReasons } from "./incomplete.ts";
import { preloadBackend } from "./preload.ts";
import { collectEvents, makeSpool, preloadEnv, removeSpool, TAIL_POLL_MS, unwrittenRecords } from "./preload-files.ts";
import { ptraceBackend } from "./ptrace.ts";
import type { RunResult } from "./ptrace-ffi.ts";
import { ptraceEnding, runInPtraceThread } from "./ptrace-run.ts";
import type { RunningTrace, TraceOutcome, TraceRequest, TracerBackend } from "./types.ts";

type ProbeResult = ReturnType<TracerBackend["probe"]>;

function probe(): ProbeResult {
  const pt = ptraceBackend.probe();
  const pl = preloadBackend.probe();
  if (!pt.usable) return { usable: false, reason: `needs ptrace: ${pt.reason}`, library: pt.library };
  if (!pl.usable) return { usable: false, reason: `needs preload: ${pl.reason}`, library: pl.library };
  return {
    usable: true,
    reason: `preload (${pl.library}) records, ptrace supervises execs and records what preload cannot enter`,
    library: pt.library,
  };
}

interface Paths {
  events: string;
  preloadEvents: string;
  spool: string;
  coverage: string;
}

function buildOutcome(
  result: RunResult,
  paths: Paths,
  startedAt: number,
  preloadTail: FileTail,
  ended?: () => void,
): TraceOutcome {
  mark("trace: command ended");
  ended?.();
  const { stream: fromPtrace, ...ending } = ptraceEnding("hybrid", result, paths.events);
  const fromPreload = collectEvents(paths.preloadEvents, paths.spool, preloadTail.drain());
  mark("trace: events read");
  const unwritten = result.lostEvents + unwrittenRecords(paths.spool);
  removeSpool(paths.spool);
  const log = existsSync(paths.coverage) ? parseCoverage(readFileSync(paths.coverage, "utf8")) : [];
  const { events, coverage } = mergeHybrid(fromPtrace.events, fromPreload.events, log);
  return {
    backend: "hybrid",
    ...ending,
    events,
    incomplete: ending.spawnError
      ? []
      : incompleteReasons(events, {
          truncatedTail: fromPtrace.truncatedTail || fromPreload.truncatedTail,
          unwritten,
          coverageLost: result.coverageLost,
        }),
    coverage,
    startedAt,
    durationMs: Date.now() - startedAt,
  };
}

function start(request: TraceRequest): RunningTrace {
  const p = probe();
  const lib = preloadBackend.probe().library;
  if (!p.usable || !p.library || !lib) throw new Error(`the hybrid tracer is not usable here: ${p.reason}`);
  const startedAt = Date.now();
  const paths: Paths = {
    events: request.eventsPath,
    preloadEvents: `${request.eventsPath}.preload`,
    spool: `${request.eventsPath}.preload.spool`,
    coverage: `${request.eventsPath}.coverage`,
  };
  makeSpool(paths.spool);
  // The preload stream starts with its HEADER, as the preload supervisor would write it; the file may
  // otherwise stay empty (a tree with no covered process), which the decoder would take for a cut record.
  writeFileSync(paths.preloadEvents, headerRecord("preload"), {
    mode: 0o600,
  });
  const message = {
    libraryPath: p.library,
    abiVersion: TRACER_ABI_VERSION,
    argv: nulBlock(request.argv),
    envp: nulBlock(preloadEnv(request.env, lib, paths.preloadEvents, paths.spool)),
    cwd: pathToBytes(request.cwd),
    eventsPath: pathToBytes(paths.events),
    spec: nulBlock([lib, paths.preloadEvents, paths.coverage]),
  };
  // The preload stream is decoded while the command runs (see preload.ts).
  const preloadTail = new FileTail(paths.preloadEvents, undefined, request.observe);
  const tailTimer = setInterval(() => preloadTail.poll(), TAIL_POLL_MS);
  try {
    const running = runInPtraceThread("hybrid", message, (result) => {
      clearInterval(tailTimer);
      return buildOutcome(result, paths, startedAt, preloadTail, request.ended);
    });
    running.done.catch(() => clearInterval(tailTimer));
    return running;
  } catch (error) {
    clearInterval(tailTimer);
    throw error;
  }
}

export const hybridBackend: TracerBackend = { name: "hybrid", probe, start };
