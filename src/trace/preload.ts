/**
 * The LD_PRELOAD tracer backend: libroar_preload.so (rust/crates/roar-preload) is preloaded into every
 * process of the command and appends msgpack records to the events file. The same library forks a
 * supervisor process (from roar's main thread: PR_SET_PDEATHSIG follows the forking thread) that runs the
 * command, waits for every descendant and kills the tree if roar dies; this side reads the supervisor's
 * message pipe asynchronously. See rust/crates/roar-preload/README.md.
 */

import { dlopen, FFIType, ptr } from "bun:ffi";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  read,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { TRACER_ABI_VERSION, type TraceEvent } from "../schema/events.ts";
import { findLibrary, libraryFileName } from "../shared/native.ts";
import { pathToBytes } from "../shared/paths.ts";
import { type DecodedStream, decodeStream, FileTail } from "./events.ts";
import { incompleteReasons } from "./incomplete.ts";
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

/** The library stays loaded once probed: the supervisor functions are called from it. */
let native: Native | null = null;

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
    const symbols = dlopen(library, SYMBOLS).symbols;
    const abi = symbols.roar_abi_version();
    if (abi === TRACER_ABI_VERSION) {
      native = symbols;
      probed = { usable: true, reason: "ok", library };
    } else {
      probed = { usable: false, reason: `${library} has ABI ${abi}, roar needs ${TRACER_ABI_VERSION}`, library };
    }
  } catch (error) {
    probed = { usable: false, reason: `cannot load ${found}: ${(error as Error).message}`, library: found };
  }
  return probed;
}

/** The environment of the traced command: the request's, plus the preload and where to write. */
function tracedEnv(request: TraceRequest, lib: string, spool: string): string[] {
  const env: Record<string, string> = { ...request.env };
  const others = (env.LD_PRELOAD ?? "").split(/[: ]/).filter((p) => p !== "" && p !== lib);
  env.LD_PRELOAD = [lib, ...others].join(":");
  env.ROAR_EVENTS_PATH = request.eventsPath;
  env.ROAR_PRELOAD_LIB = lib;
  env.ROAR_SPOOL_DIR = spool;
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** How often the events file is read while the command runs. */
export const TAIL_POLL_MS = 5;

const SPOOL_HEADER = 64;
const SPOOL_MAGIC = "ROARSPL1";

/**
 * Records a process had buffered but never flushed (it was killed by a signal): each process's buffer is
 * a shared mapping of a file in the spool directory, `[magic, committed length, pid]` then the records.
 */
export function readSpool(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  const header = Buffer.alloc(SPOOL_HEADER);
  for (const name of names) {
    // most spool files were cleared by a clean exit: read the header, then only the committed records
    const fd = openSync(join(dir, name), "r");
    try {
      if (readSync(fd, header, 0, SPOOL_HEADER, 0) < SPOOL_HEADER) continue;
      if (header.subarray(0, 8).toString("latin1") !== SPOOL_MAGIC) continue;
      const committed = Number(header.readBigUInt64LE(8));
      if (committed === 0 || committed > fstatSync(fd).size - SPOOL_HEADER) continue;
      const records = Buffer.alloc(committed);
      if (readSync(fd, records, 0, committed, SPOOL_HEADER) === committed) out.push(records);
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/**
 * Removes a spool directory in the background: unlinking spool files that processes mapped and wrote takes
 * ~2 ms here, time the run's caller need not wait for (the directory is private to this run).
 */
export function removeSpool(spool: string): void {
  rm(spool, { recursive: true, force: true }).catch(() => {});
}

/**
 * A spool directory with its `lost` counter: one allocated page where preload processes count the records they
 * could not write (a full disk), so that the count needs no new space (rust/crates/roar-preload/src/state.rs).
 */
export function makeSpool(spool: string): void {
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  writeFileSync(join(spool, "lost"), new Uint8Array(4096), { mode: 0o600 });
}

/** Records preload processes could not write, from the spool's `lost` counter. */
export function unwrittenRecords(spool: string): number {
  try {
    const fd = openSync(join(spool, "lost"), "r");
    try {
      const word = Buffer.alloc(8);
      readSync(fd, word, 0, 8, 0);
      return Number(word.readBigUInt64LE(0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** The event stream plus the records recovered from spool files (minus any that were also flushed). */
export function collectEvents(
  eventsPath: string,
  spool: string,
  decoded?: DecodedStream,
): { events: TraceEvent[]; truncatedTail: boolean } {
  const main = decoded ?? decodeStream(existsSync(eventsPath) ? readFileSync(eventsPath) : new Uint8Array());
  const key = (e: TraceEvent) => `${e.kind}/${e.pid}/${e.seq}/${e.ts}`;
  let truncatedTail = main.truncatedTail;
  const chunks = readSpool(spool);
  // Usually every process exited cleanly and the spool is empty: only then is the index worth building.
  const seen = chunks.length > 0 ? new Set(main.events.map(key)) : new Set<string>();
  for (const chunk of chunks) {
    const recovered = decodeStream(chunk);
    truncatedTail ||= recovered.truncatedTail;
    for (const e of recovered.events) {
      // a process killed between its write(2) and clearing the spool has its records in both
      if (!seen.has(key(e))) main.events.push(e);
    }
  }
  return { events: main.events, truncatedTail };
}

const ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted",
  2: "command not found",
  8: "exec format error",
  13: "permission denied",
  20: "not a directory",
  21: "is a directory",
  26: "text file busy",
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
  if (!p.usable || !p.library || !native) throw new Error(`the preload tracer is not usable: ${p.reason}`);
  const lib = p.library;
  const symbols = native;
  const startedAt = Date.now();
  const file = request.argv[0];
  if (file === undefined) throw new Error("nothing to run: empty argv");
  const spool = `${request.eventsPath}.spool`;
  makeSpool(spool);

  const c = new CArgs();
  const spec = new BigUint64Array([
    c.str(file),
    c.list(request.argv),
    c.list(tracedEnv(request, lib, spool)),
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
    spawnError = { code: out[4] === 126 ? 126 : 127, message: `${file}: ${ERRNO_TEXT[errno] ?? `errno ${errno}`}` };
  }
  const topPid = rc === 0 ? (out[2] ?? 0) : null;

  // Decode the stream while the command runs (on the core it leaves idle), not all at the end.
  const tail = new FileTail(request.eventsPath);
  const tailTimer = setInterval(() => tail.poll(), TAIL_POLL_MS);
  const done = readSupervisor(messages).then((status) => {
    clearInterval(tailTimer);
    symbols.roar_preload_reap(supervisor);
    finished = true;
    sentinel?.stop();
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
