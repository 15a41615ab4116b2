/**
 * Running libroar_ptrace's blocking run call in a Worker (ptrace and hybrid backends): the main thread stays
 * free to forward signals, learns the top pid from a shared cell, and turns the reply into a TraceOutcome.
 */
import { constants } from "node:os";
import { workerSpecifier } from "../core/self.ts";
import type { RunMessage, RunResult, WorkerReply } from "./ptrace-ffi.ts";
import type { RunningTrace, TraceOutcome } from "./types.ts";

export function signalNumber(signal: NodeJS.Signals | number): number {
  return typeof signal === "number" ? signal : (constants.signals[signal] ?? 15);
}

let spare: Worker | undefined;

function newWorker(): Worker {
  return new Worker(workerSpecifier("src/trace/ptrace-worker.ts", new URL("./ptrace-worker.ts", import.meta.url)));
}

/**
 * Starts the worker ahead of the run (its start-up costs ~10 ms): `roar run` calls this before its git and
 * config checks, so the two overlap.
 */
export function prewarmPtraceWorker(): void {
  if (spare) return;
  spare = newWorker();
  spare.unref(); // an unused spare must not keep roar alive (e.g. when the git check refuses the run)
}

export function runInPtraceWorker(
  label: string,
  message: Omit<RunMessage, "pidCell">,
  buildOutcome: (result: RunResult) => TraceOutcome,
): RunningTrace {
  const pidCell = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    workerSpecifier("src/trace/ptrace-worker.ts", new URL("./ptrace-worker.ts", import.meta.url)),
  );

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
      finished = true;
      worker.terminate();
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      finish();
      const reply = event.data;
      if (!reply.ok) return reject(new Error(`${label} tracer: ${reply.error}`));
      try {
        resolve(buildOutcome(reply.result));
      } catch (error) {
        reject(error);
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`${label} tracer worker failed: ${event.message}`));
    };
  });
  worker.postMessage({ ...message, pidCell } satisfies RunMessage);

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
