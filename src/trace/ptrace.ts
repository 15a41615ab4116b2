/**
 * The ptrace backend: librust roar_ptrace (seccomp-filtered ptrace) does the tracing in a Worker, because its
 * run call blocks until the whole traced process tree has exited. The main thread stays free: it learns the
 * top pid through a SharedArrayBuffer (to forward signals) and decodes the event file at the end.
 */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { workerSpecifier } from "../core/self.ts";
import type { TraceEvent } from "../schema/events.ts";
import { ForkFlags, TRACER_ABI_VERSION } from "../schema/events.ts";
import { decodeStream } from "./events.ts";
import { findLibrary } from "./native.ts";
import { pathToBytes } from "./paths.ts";
import { openPtraceLibrary, type RunMessage, type RunResult, type WorkerReply } from "./ptrace-ffi.ts";
import type { RunningTrace, TraceOutcome, TraceRequest, TracerBackend } from "./types.ts";

type ProbeResult = ReturnType<TracerBackend["probe"]>;
let probed: ProbeResult | null = null;

function probe(): ProbeResult {
  if (probed) return probed;
  const library = findLibrary("roar_ptrace");
  if (!library) {
    probed = { usable: false, reason: "libroar_ptrace is not built (cargo build --release in rust/)", library };
    return probed;
  }
  if (process.platform !== "linux") {
    probed = { usable: false, reason: "ptrace tracing needs Linux", library };
    return probed;
  }
  try {
    const lib = openPtraceLibrary(library, TRACER_ABI_VERSION);
    const code = lib.symbols.roar_ptrace_probe();
    const buf = new Uint8Array(1024);
    lib.symbols.roar_ptrace_probe_reason(buf, buf.length);
    const end = buf.indexOf(0);
    const reason = new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
    lib.close();
    probed = { usable: code === 0, reason, library };
  } catch (error) {
    probed = { usable: false, reason: error instanceof Error ? error.message : String(error), library };
  }
  return probed;
}

/** NUL-terminated strings back to back: the FFI encoding of argv/envp (bytes exact, see paths.ts). */
function block(items: string[]): Uint8Array {
  const parts = items.map(pathToBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1;
  }
  return out;
}

function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === "number") return signal;
  const n = constants.signals[signal];
  if (n === undefined) throw new Error(`unknown signal ${signal}`);
  return n;
}

/** The `incomplete` list of an outcome: the tracer's INCOMPLETE records plus what the stream itself shows. */
export function incompleteFromEvents(
  events: TraceEvent[],
  truncatedTail: boolean,
): { reason: string; detail: string; pid: number }[] {
  const seen = new Map<string, { reason: string; detail: string; pid: number }>();
  const add = (reason: string, detail: string, pid: number) => {
    const key = `${reason}\0${detail}\0${pid}`;
    if (!seen.has(key)) seen.set(key, { reason, detail, pid });
  };
  const started = new Set<number>();
  const exited = new Set<number>();
  for (const e of events) {
    if (e.kind === "incomplete") add(e.reason, e.detail, e.pid);
    else if (e.kind === "dropped") add("lost_events", `${e.count} records dropped`, e.pid);
    else if (e.kind === "proc_start") started.add(e.pid);
    else if (e.kind === "fork" && (e.flags & ForkFlags.THREAD) === 0) started.add(e.child);
    else if (e.kind === "exit") exited.add(e.pid);
  }
  for (const pid of started) if (!exited.has(pid)) add("no_exit_record", "", pid);
  if (truncatedTail) add("lost_events", "event stream ends mid-record", 0);
  return [...seen.values()];
}

function buildOutcome(result: RunResult, eventsPath: string, startedAt: number): TraceOutcome {
  if (result.tracerErrno !== 0) throw new Error(`ptrace tracer: ${result.message}`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(eventsPath);
  } catch (error) {
    throw new Error(`ptrace tracer wrote no events file at ${eventsPath}: ${String(error)}`);
  }
  const { events, truncatedTail } = decodeStream(bytes);
  const code = result.spawnError;
  const spawnError: TraceOutcome["spawnError"] =
    code === 126 || code === 127 ? { code, message: result.message } : null;
  return {
    backend: "ptrace",
    exitCode: spawnError || result.exitCode < 0 ? null : result.exitCode,
    signal: spawnError || result.signal === 0 ? null : result.signal,
    spawnError,
    events,
    incomplete: incompleteFromEvents(events, truncatedTail),
    startedAt,
    durationMs: Date.now() - startedAt,
  };
}

function start(request: TraceRequest): RunningTrace {
  const p = probe();
  if (!p.usable || !p.library) throw new Error(`the ptrace tracer is not usable here: ${p.reason}`);
  const startedAt = Date.now();
  const pidCell = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    workerSpecifier("src/trace/ptrace-worker.ts", new URL("./ptrace-worker.ts", import.meta.url)),
  );
  const message: RunMessage = {
    libraryPath: p.library,
    abiVersion: TRACER_ABI_VERSION,
    argv: block(request.argv),
    envp: block(Object.entries(request.env).map(([k, v]) => `${k}=${v}`)),
    cwd: pathToBytes(request.cwd),
    eventsPath: pathToBytes(request.eventsPath),
    pidCell,
  };

  let knownPid = 0;
  const queuedSignals: number[] = [];
  let resolvePid: (pid: number) => void = () => {};
  const pid = new Promise<number>((resolve) => {
    resolvePid = resolve;
  });
  const deliver = (sig: number) => {
    try {
      process.kill(knownPid, sig);
    } catch {
      // already gone
    }
  };
  // The worker is blocked inside the FFI call, so it cannot message us the pid: poll the shared cell until
  // it appears (a few ms after start).
  const poll = setInterval(() => notePid(Atomics.load(pidCell, 0)), 1);
  function notePid(value: number): void {
    if (knownPid !== 0 || value === 0) return;
    knownPid = value;
    clearInterval(poll);
    resolvePid(value);
    for (const sig of queuedSignals.splice(0)) deliver(sig);
  }

  const done = new Promise<TraceOutcome>((resolve, reject) => {
    const finish = () => {
      clearInterval(poll);
      notePid(Atomics.load(pidCell, 0));
      if (knownPid === 0) resolvePid(-1); // the command never started (see spawnError)
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      finish();
      const reply = event.data;
      if (!reply.ok) return reject(new Error(`ptrace tracer: ${reply.error}`));
      try {
        resolve(buildOutcome(reply.result, request.eventsPath, startedAt));
      } catch (error) {
        reject(error);
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`ptrace tracer worker failed: ${event.message}`));
    };
  });
  worker.postMessage(message);

  return {
    pid,
    done,
    kill(signal) {
      const sig = signalNumber(signal);
      if (knownPid > 0) deliver(sig);
      else queuedSignals.push(sig);
    },
  };
}

export const ptraceBackend: TracerBackend = { name: "ptrace", probe, start };
