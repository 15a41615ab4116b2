/**
 * Worker for the ptrace and hybrid backends: the run call blocks until every traced process has exited, and
 * the ptrace calls must all come from the thread that forked the tracee, so this thread is dedicated to it.
 */
import { openPtraceLibrary, parseRunResult, RESULT_SIZE, type RunMessage, type WorkerReply } from "./ptrace-ffi.ts";

declare const self: Worker;

/** bun:ffi rejects zero-length buffers as pointers; the length argument says what is really there. */
function nonEmpty(b: Uint8Array): Uint8Array {
  return b.length > 0 ? b : new Uint8Array(1);
}

self.onmessage = (event: MessageEvent<RunMessage>) => {
  const m = event.data;
  let reply: WorkerReply;
  try {
    const lib = openPtraceLibrary(m.libraryPath, m.abiVersion);
    const result = new Uint8Array(RESULT_SIZE);
    const common = [
      nonEmpty(m.argv),
      m.argv.length,
      nonEmpty(m.envp),
      m.envp.length,
      nonEmpty(m.cwd),
      m.cwd.length,
      nonEmpty(m.eventsPath),
      m.eventsPath.length,
    ] as const;
    const rc = m.spec
      ? lib.symbols.roar_ptrace_run_hybrid(...common, nonEmpty(m.spec), m.spec.length, m.pidCell, result)
      : lib.symbols.roar_ptrace_run(...common, m.pidCell, result);
    const name = m.spec ? "roar_ptrace_run_hybrid" : "roar_ptrace_run";
    reply = rc === 0 ? { ok: true, result: parseRunResult(result) } : { ok: false, error: `${name}: errno ${rc}` };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
