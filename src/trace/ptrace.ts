/**
 * The ptrace backend: libroar_ptrace (seccomp-filtered ptrace) traces on a native thread of its own (see
 * ptrace-run.ts); the main thread stays free to forward signals, and decodes the event file as it grows (its
 * opens are looked up while the command runs, see TraceRequest.observe).
 */
import { existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { TRACER_ABI_VERSION } from "../schema/events.ts";
import { readCache, writeCache } from "../shared/cache.ts";
import { findLibrary } from "../shared/native.ts";
import { nulBlock, pathToBytes } from "../shared/paths.ts";
import { FileTail } from "./events.ts";
import { incompleteReasons } from "./incomplete.ts";
import { TAIL_POLL_MS } from "./preload-files.ts";
import { openPtraceLibrary, type RunResult } from "./ptrace-ffi.ts";
import { ptraceEnding, runInPtraceThread } from "./ptrace-run.ts";
import type { RunningTrace, TraceOutcome, TraceRequest, TracerBackend } from "./types.ts";

type ProbeResult = ReturnType<TracerBackend["probe"]>;
let probed: ProbeResult | null = null;

const PROBE_CACHE = "ptrace-probe.json";

/**
 * What the probe's verdict depends on: this boot, this container (pid namespace, capabilities, seccomp state,
 * yama scope) and this library build. The probe forks a test tracee (~3 ms), so its verdict is remembered
 * under this key rather than paid on every `roar run`. None (probed each time, nothing remembered) while this
 * process is itself traced: under `strace -f` or another roar its children are the outer tracer's, under gdb
 * they may not be, and neither verdict says anything about the next untraced roar.
 */
function probeKey(library: string): string | null {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    if (!/^TracerPid:\s*0$/m.test(status)) return null;
    const caps = /^(CapEff|CapBnd|Seccomp|NoNewPrivs):.*$/gm;
    return JSON.stringify([
      readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
      readlinkSync("/proc/self/ns/pid"),
      process.getuid?.(),
      status.match(caps),
      existsSync("/proc/sys/kernel/yama/ptrace_scope")
        ? readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8")
        : "",
      library,
      statSync(library).mtimeMs,
    ]);
  } catch {
    return null;
  }
}

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
  const key = probeKey(library);
  const cached = key ? readCache<{ key: string; usable: boolean; reason: string }>(PROBE_CACHE) : undefined;
  if (cached && cached.key === key) {
    probed = { usable: cached.usable, reason: cached.reason, library };
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
    if (key) writeCache(PROBE_CACHE, { key, usable: probed.usable, reason });
  } catch (error) {
    probed = { usable: false, reason: error instanceof Error ? error.message : String(error), library };
  }
  return probed;
}

function buildOutcome(result: RunResult, eventsPath: string, startedAt: number, tail: FileTail): TraceOutcome {
  const { stream, ...ending } = ptraceEnding("ptrace", result, eventsPath, tail);
  return {
    backend: "ptrace",
    ...ending,
    events: stream.events,
    incomplete: incompleteReasons(stream.events, { truncatedTail: stream.truncatedTail, unwritten: result.lostEvents }),
    startedAt,
    durationMs: Date.now() - startedAt,
  };
}

function start(request: TraceRequest): RunningTrace {
  const p = probe();
  if (!p.usable || !p.library) throw new Error(`the ptrace tracer is not usable here: ${p.reason}`);
  const startedAt = Date.now();
  const message = {
    libraryPath: p.library,
    abiVersion: TRACER_ABI_VERSION,
    argv: nulBlock(request.argv),
    envp: nulBlock(Object.entries(request.env).map(([k, v]) => `${k}=${v}`)),
    cwd: pathToBytes(request.cwd),
    eventsPath: pathToBytes(request.eventsPath),
  };
  // The tracer writes its records in batches: they are decoded (and observed) while the command runs.
  const tail = new FileTail(request.eventsPath, undefined, request.observe);
  const tailTimer = setInterval(() => tail.poll(), TAIL_POLL_MS);
  try {
    const running = runInPtraceThread("ptrace", message, (result) => {
      clearInterval(tailTimer);
      request.ended?.();
      return buildOutcome(result, request.eventsPath, startedAt, tail);
    });
    running.done.catch(() => clearInterval(tailTimer));
    return running;
  } catch (error) {
    clearInterval(tailTimer);
    throw error;
  }
}

export const ptraceBackend: TracerBackend = { name: "ptrace", probe, start };
