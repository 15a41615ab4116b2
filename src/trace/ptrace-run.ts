/**
 * Running libroar_ptrace for the ptrace and hybrid backends. The library runs each trace on a native thread of
 * its own (all ptrace requests must come from the thread that forked the tracee), so Bun's main thread stays
 * free to forward signals; it waits for the end on a pipe the run's thread closes, then builds a TraceOutcome.
 * (A Worker would do too, but costs ~10 ms to start on every `roar run`; a native thread ~50 µs.)
 */
import { closeSync, read, readFileSync, statSync } from "node:fs";
import { constants } from "node:os";
import { type DecodedStream, decodeStream, type FileTail } from "./events.ts";
import {
  openPtraceLibrary,
  type PtraceLibrary,
  parseRunResult,
  RESULT_SIZE,
  type RunResult,
  startPtraceRun,
} from "./ptrace-ffi.ts";
import { SignalSentinel } from "./sentinel.ts";
import type { RunningTrace, TraceOutcome } from "./types.ts";

export function signalNumber(signal: NodeJS.Signals | number): number {
  return typeof signal === "number" ? signal : (constants.signals[signal] ?? 15);
}

export interface PtraceRunInput {
  libraryPath: string;
  abiVersion: number;
  argv: Uint8Array;
  envp: Uint8Array;
  cwd: Uint8Array;
  eventsPath: Uint8Array;
  /** Hybrid mode: NUL-terminated preload library path, preload ROAR_EVENTS_PATH, coverage log path. */
  spec?: Uint8Array;
}

const libraries = new Map<string, PtraceLibrary>();

function library(path: string, abi: number): PtraceLibrary {
  let lib = libraries.get(path);
  if (!lib) {
    lib = openPtraceLibrary(path, abi);
    libraries.set(path, lib);
  }
  return lib;
}

/** Without a done pipe, how often the main thread looks at the run. */
const POLL_MS = 1;

export function runInPtraceThread(
  label: string,
  input: PtraceRunInput,
  buildOutcome: (result: RunResult) => TraceOutcome,
): RunningTrace {
  const lib = library(input.libraryPath, input.abiVersion);
  const spec = input.spec ?? new Uint8Array();
  // Before the command exists, so that no group signal can slip past it.
  const sentinel = SignalSentinel.start(lib.symbols);
  const handle = startPtraceRun(lib, { ...input, spec });
  if (handle <= 0) {
    sentinel?.stop();
    throw new Error(`${label} tracer: roar_ptrace_start failed (errno ${-handle})`);
  }

  let knownPid = 0;
  let finished = false;
  const queuedSignals: number[] = [];
  let resolvePid: (pid: number) => void = () => {};
  const pid = new Promise<number>((resolve) => {
    resolvePid = resolve;
  });
  const deliver = (sig: number) => {
    if (finished) return; // the pid may belong to someone else by now
    try {
      process.kill(knownPid, sig);
    } catch {
      // already gone
    }
  };
  const notePid = (value: number) => {
    if (knownPid !== 0 || value <= 0) return;
    knownPid = value;
    resolvePid(value);
    for (const sig of queuedSignals.splice(0)) deliver(sig);
  };

  const pidCell = new Int32Array(1);
  const result = new Uint8Array(RESULT_SIZE);
  const collect = (): TraceOutcome | null => {
    const state = lib.symbols.roar_ptrace_poll(handle, pidCell, result);
    notePid(pidCell[0] ?? 0);
    if (state === 0) return null;
    finished = true;
    sentinel?.stop();
    if (knownPid === 0) resolvePid(-1); // the command never started (see spawnError)
    if (state < 0) throw new Error(`${label} tracer: lost track of run ${handle}`);
    return buildOutcome(parseRunResult(result));
  };
  // roar_ptrace_start returned once the pid was known: signals can be forwarded from now on (and a command
  // that could not start may already be over).
  let early: TraceOutcome | null = null;
  let earlyError: unknown = null;
  try {
    early = collect();
  } catch (error) {
    earlyError = error;
  }
  const done = new Promise<TraceOutcome>((resolve, reject) => {
    if (early || earlyError) return early ? resolve(early) : reject(earlyError);
    const settle = () => {
      try {
        const outcome = collect();
        if (outcome) resolve(outcome);
        return outcome !== null;
      } catch (error) {
        reject(error);
        return true;
      }
    };
    const doneFd = lib.symbols.roar_ptrace_done_fd(handle);
    if (doneFd >= 0) {
      // A blocking read on Bun's thread pool: end of file the moment the run's thread finishes.
      read(doneFd, Buffer.alloc(1), 0, 1, null, () => {
        closeSync(doneFd);
        if (!settle()) reject(new Error(`${label} tracer: run ${handle} signalled its end but has no result`));
      });
    } else {
      const timer = setInterval(() => {
        if (settle()) clearInterval(timer);
      }, POLL_MS);
    }
  });

  return {
    pid,
    done,
    kill(signal) {
      const sig = signalNumber(signal);
      if (knownPid > 0) deliver(sig);
      else queuedSignals.push(sig);
    },
    forward(signal) {
      if (finished) return;
      if (sentinel) sentinel.forward(signal, () => this.kill(signal));
      else this.kill(signal);
    },
  };
}

/** How a libroar_ptrace run ended, in TraceOutcome terms, with the supervisor's decoded event stream. */
export interface PtraceEnding extends Pick<TraceOutcome, "exitCode" | "signal" | "spawnError"> {
  stream: DecodedStream;
}

/**
 * The mapping the ptrace and hybrid backends share: a tracer failure or a missing events file throws; a command
 * that could not start (126/127) has neither exit code nor signal. `tail`: the events file as decoded while the
 * command ran (its rest is read now), else it is read and decoded here.
 */
export function ptraceEnding(label: string, result: RunResult, eventsPath: string, tail?: FileTail): PtraceEnding {
  if (result.tracerErrno !== 0) throw new Error(`${label} tracer: ${result.message}`);
  let bytes: Uint8Array | null = null;
  try {
    if (tail) statSync(eventsPath);
    else bytes = readFileSync(eventsPath);
  } catch (error) {
    throw new Error(`${label} tracer wrote no events file at ${eventsPath}: ${String(error)}`);
  }
  const stream: DecodedStream = bytes ? decodeStream(bytes) : (tail as FileTail).drain();
  const code = result.spawnError;
  const spawnError: TraceOutcome["spawnError"] =
    code === 126 || code === 127 ? { code, message: result.message } : null;
  return {
    exitCode: spawnError || result.exitCode < 0 ? null : result.exitCode,
    signal: spawnError || result.signal === 0 ? null : result.signal,
    spawnError,
    stream,
  };
}
