/**
 * Worker for the ptrace backend: `roar_ptrace_run` blocks until every traced process has exited, and the
 * ptrace calls must all come from the thread that forked the tracee, so this thread is dedicated to it.
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
    const rc = lib.symbols.roar_ptrace_run(
      nonEmpty(m.argv),
      m.argv.length,
      nonEmpty(m.envp),
      m.envp.length,
      nonEmpty(m.cwd),
      m.cwd.length,
      nonEmpty(m.eventsPath),
      m.eventsPath.length,
      m.pidCell,
      result,
    );
    reply =
      rc === 0 ? { ok: true, result: parseRunResult(result) } : { ok: false, error: `roar_ptrace_run: errno ${rc}` };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
