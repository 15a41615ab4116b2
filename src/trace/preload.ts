/**
 * The LD_PRELOAD tracer backend: libroar_preload.so (rust/crates/roar-preload) is preloaded into every
 * process of the command and appends msgpack records to the events file. The same library forks a
 * supervisor process (from roar's main thread: PR_SET_PDEATHSIG follows the forking thread) that runs the
 * command, waits for every descendant and kills the tree if roar dies; this side reads the supervisor's
 * message pipe asynchronously. See rust/crates/roar-preload/README.md.
 */

import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeSync, existsSync, mkdirSync, read, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { TRACER_ABI_VERSION } from "../schema/events.ts";
import { fileStamp, readCache, writeCache } from "../shared/cache.ts";
import { errnoName } from "../shared/errors.ts";
import { findLibrary, libraryFileName } from "../shared/native.ts";
import { pathToBytes } from "../shared/paths.ts";
import { FileTail } from "./events.ts";
import { incompleteReasons } from "./incomplete.ts";
import { collectEvents, makeSpool, preloadEnv, removeSpool, TAIL_POLL_MS, unwrittenRecords } from "./preload-files.ts";
import { SignalSentinel, sentinelSymbols } from "./sentinel.ts";
import type { RunningTrace, TraceOutcome, TraceRequest, TracerBackend } from "./types.ts";

type Probe = ReturnType<TracerBackend["probe"]>;

let probed: Probe | null = null;

const SYMBOLS = {
  roar_abi_version: { args: [], returns: FFIType.u32 },
  roar_preload_spawn: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  roar_preload_reap: { args: [FFIType.i32], returns: FFIType.i32 },
  ...sentinelSymbols,
} as const;

type Native = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

/** The library, loaded by the preload backend's first start (or a probe): its supervisor functions. */
let native: Native | null = null;

/**
 * A usable probe is remembered per library file (its identity and roar's tracer ABI): loading the library into
 * roar only to read its ABI version cost every `roar run` ~0.6 ms, and under auto (hybrid) nothing else of it is
 * called in roar's process — it is only preloaded into the job.
 */
const PROBE_CACHE = "preload-probe.json";

function probeKey(library: string): string | null {
  const stamp = fileStamp(library);
  return stamp === null ? null : JSON.stringify([library, stamp, TRACER_ABI_VERSION]);
}

/** Loads the library's supervisor functions, or says why not: not the ABI roar needs (throws when unloadable). */
function loadNative(library: string): Native | string {
  if (native) return native;
  const symbols = dlopen(library, SYMBOLS).symbols;
  const abi = symbols.roar_abi_version();
  if (abi !== TRACER_ABI_VERSION) return `${library} has ABI ${abi}, roar needs ${TRACER_ABI_VERSION}`;
  native = symbols;
  return symbols;
}

/**
 * LD_PRELOAD needs a real file: a library embedded in a compiled roar lives in Bun's virtual file system,
 * so it is copied once to a per-user cache directory.
 */
function materialize(lib: string): string {
  // ld.so splits LD_PRELOAD on spaces and colons: such a path must be copied too
  if (!lib.includes("$bunfs") && existsSync(lib) && !/[ :]/.test(realpathSync(lib))) return realpathSync(lib);
  const bytes = readFileSync(lib);
  const dir = join(tmpdir(), `roar-${userInfo().uid}`, `preload-${Bun.hash(bytes).toString(16)}`);
  const target = join(dir, libraryFileName("roar_preload"));
  if (!existsSync(target)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const partial = `${target}.${process.pid}`;
    writeFileSync(partial, bytes, { mode: 0o755 });
    renameSync(partial, target);
  }
  return target;
}

function probe(): Probe {
  if (probed) return probed;
  const found = process.platform === "linux" ? findLibrary("roar_preload") : null;
  if (!found) {
    probed = {
      usable: false,
      reason:
        process.platform === "linux"
          ? "libroar_preload.so not found (cargo build --release in rust/)"
          : "LD_PRELOAD tracing needs Linux",
      library: null,
    };
    return probed;
  }
  try {
    const library = materialize(found);
    const key = probeKey(library);
    if (key && readCache<{ key: string }>(PROBE_CACHE)?.key === key) {
      probed = { usable: true, reason: "ok", library };
      return probed;
    }
    const loaded = loadNative(library);
    if (typeof loaded === "string") probed = { usable: false, reason: loaded, library };
    else {
      probed = { usable: true, reason: "ok", library };
      if (key) writeCache(PROBE_CACHE, { key });
    }
  } catch (error) {
    probed = { usable: false, reason: `cannot load ${found}: ${(error as Error).message}`, library: found };
  }
  return probed;
}

/** Why the command could not be exec'd, in the words of a shell (ENOENT: the name was not found). */
const SPAWN_ERROR_TEXT: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "command not found",
  ENOEXEC: "exec format error",
  EACCES: "permission denied",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  ETXTBSY: "text file busy",
};

/** NUL-terminated strings and pointer arrays for the native spawn; `keep` holds them until the call returns. */
class CArgs {
  readonly keep: ArrayBufferView[] = [];
  str(s: string): bigint {
    const bytes = pathToBytes(s);
    const b = new Uint8Array(bytes.length + 1);
    b.set(bytes);
    this.keep.push(b);
    return BigInt(ptr(b));
  }
  list(items: string[]): bigint {
    const a = new BigUint64Array(items.length + 1);
    items.forEach((s, i) => {
      a[i] = this.str(s);
    });
    this.keep.push(a);
    return BigInt(ptr(a));
  }
}

const MSG_TOP_EXITED = 3;
const MSG_DONE = 4;

/** Reads the supervisor's 16-byte messages until DONE or end of stream; resolves the top's wait status. */
async function readSupervisor(fd: number): Promise<number | null> {
  const buf = Buffer.alloc(1024);
  let pending = Buffer.alloc(0);
  let status: number | null = null;
  try {
    for (;;) {
      // a blocking read on Bun's thread pool: the pipe only carries a few messages
      const n = await new Promise<number>((resolve, reject) =>
        read(fd, buf, 0, buf.length, null, (error, bytes) => (error ? reject(error) : resolve(bytes))),
      );
      if (n === 0) break;
      pending = Buffer.concat([pending, buf.subarray(0, n)]);
      while (pending.length >= 16) {
        const kind = pending.readInt32LE(0);
        if (kind === MSG_TOP_EXITED) status = pending.readInt32LE(4);
        pending = pending.subarray(16);
        if (kind === MSG_DONE) return status;
      }
    }
  } finally {
    closeSync(fd);
  }
  return status;
}

function start(request: TraceRequest): RunningTrace {
  const p = probe();
  if (!p.usable || !p.library) throw new Error(`the preload tracer is not usable: ${p.reason}`);
  const lib = p.library;
  const symbols = loadNative(lib);
  if (typeof symbols === "string") throw new Error(`the preload tracer is not usable: ${symbols}`);
  const startedAt = Date.now();
  const file = request.argv[0];
  if (file === undefined) throw new Error("nothing to run: empty argv");
  const spool = `${request.eventsPath}.spool`;
  makeSpool(spool);

  const c = new CArgs();
  const spec = new BigUint64Array([
    c.str(file),
    c.list(request.argv),
    c.list(preloadEnv(request.env, lib, request.eventsPath, spool)),
    c.str(request.cwd),
    request.env.PATH === undefined ? 0n : c.str(request.env.PATH),
    c.str(request.eventsPath),
  ]);
  const out = new Int32Array(8);
  // Before the command exists, so that no group signal can slip past it.
  const sentinel = SignalSentinel.start(symbols);
  // Blocks only until the command has exec'd (or failed to).
  const rc = symbols.roar_preload_spawn(ptr(spec), ptr(out));
  c.keep.length = 0;
  if (rc < 0) {
    sentinel?.stop();
    throw new Error(`the preload supervisor could not start (errno ${-rc})`);
  }
  const supervisor = out[0] ?? 0;
  const messages = out[1] ?? -1;

  let finished = false;
  let spawnError: TraceOutcome["spawnError"] = null;
  if (rc === 1) {
    const errno = out[3] ?? 0;
    spawnError = {
      code: out[4] === 126 ? 126 : 127,
      message: `${file}: ${SPAWN_ERROR_TEXT[errnoName(errno) ?? ""] ?? `errno ${errno}`}`,
    };
  }
  const topPid = rc === 0 ? (out[2] ?? 0) : null;

  // Decode the stream while the command runs (on a core it leaves idle, where it has one), not all at the end.
  const tail = new FileTail(request.eventsPath, undefined, request.observe);
  const tailTimer = setInterval(() => tail.poll(), TAIL_POLL_MS);
  const done = readSupervisor(messages).then((status) => {
    clearInterval(tailTimer);
    symbols.roar_preload_reap(supervisor);
    finished = true;
    sentinel?.stop();
    request.ended?.();
    const { events, truncatedTail } = collectEvents(request.eventsPath, spool, tail.drain());
    const unwritten = unwrittenRecords(spool);
    removeSpool(spool);
    let exitCode: number | null = null;
    let signal: number | null = null;
    if (spawnError === null && status !== null) {
      if ((status & 0x7f) === 0) exitCode = (status >> 8) & 0xff;
      else signal = status & 0x7f;
    }
    return {
      backend: "preload" as const,
      exitCode,
      signal,
      spawnError,
      events,
      incomplete: spawnError ? [] : incompleteReasons(events, { truncatedTail, unwritten }),
      startedAt,
      durationMs: Date.now() - startedAt,
    };
  });

  done.catch(() => {
    clearInterval(tailTimer);
    sentinel?.stop();
  });
  const pid = topPid !== null ? Promise.resolve(topPid) : Promise.reject(new Error(spawnError?.message));
  pid.catch(() => {}); // a spawn failure is reported through `done` as well

  return {
    pid,
    done,
    kill(sig) {
      // after the end the pid may belong to someone else
      if (topPid === null || finished) return;
      try {
        process.kill(topPid, sig);
      } catch {
        // already gone
      }
    },
    forward(signal) {
      if (finished) return;
      if (sentinel) sentinel.forward(signal, () => this.kill(signal));
      else this.kill(signal);
    },
  };
}

export const preloadBackend: TracerBackend = { name: "preload", probe, start };
