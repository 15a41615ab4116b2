/**
 * Worker for the hybrid backend: `roar_ptrace_run_hybrid` blocks until every traced process has exited, and
 * all ptrace requests must come from the thread that forked the tracee (same reasons as ptrace-worker.ts).
 */
import { type HybridRunMessage, openHybridLibrary } from "./hybrid-ffi.ts";
import { parseRunResult, RESULT_SIZE, type WorkerReply } from "./ptrace-ffi.ts";

declare const self: Worker;

/** bun:ffi rejects zero-length buffers as pointers; the length argument says what is really there. */
function nonEmpty(b: Uint8Array): Uint8Array {
  return b.length > 0 ? b : new Uint8Array(1);
}

self.onmessage = (event: MessageEvent<HybridRunMessage>) => {
  const m = event.data;
  let reply: WorkerReply;
  try {
    const lib = openHybridLibrary(m.libraryPath, m.abiVersion);
    const result = new Uint8Array(RESULT_SIZE);
    const rc = lib.symbols.roar_ptrace_run_hybrid(
      nonEmpty(m.argv),
      m.argv.length,
      nonEmpty(m.envp),
      m.envp.length,
      nonEmpty(m.cwd),
      m.cwd.length,
      nonEmpty(m.eventsPath),
      m.eventsPath.length,
      nonEmpty(m.spec),
      m.spec.length,
      m.pidCell,
      result,
    );
    reply =
      rc === 0
        ? { ok: true, result: parseRunResult(result) }
        : { ok: false, error: `roar_ptrace_run_hybrid: errno ${rc}` };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
