/**
 * The native BLAKE3 kernel (rust/hash → libroar_hash.so) through bun:ffi (its other users: src/trace, and libc's
 * clocks in src/shared). When the library is missing or has another ABI version, callers fall back to blake3-wasm.
 */
import { type dlopen, FFIType, ptr } from "bun:ffi";
import { errnoName } from "../shared/errors.ts";
import { dlopenLazily } from "../shared/ffi.ts";
import { findLibrary } from "../shared/native.ts";
import type { FileHashOptions, FileHashOutcome, FileIdentity } from "./file.ts";
import { ChangeCheckList, changedFlags, expectedOf, pathBlock } from "./native-blocks.ts";
import { toHex } from "./wasm.ts";

export { ChangeCheckList } from "./native-blocks.ts";

export const NATIVE_ABI_VERSION = 6;
const OUT_LEN = 32;
/** u64 fields per file of roar_stat_paths / roar_hash_paths (rust/hash/src/lib.rs). */
const STAT_FIELDS = 7;
const HASH_FIELDS = STAT_FIELDS + 2;
/** roar_hash_paths' errno field for a fifo, device or socket. */
const NOT_REGULAR = 2 ** 32;
/** roar_queue_hash's errno field for a regular file over its size limit (not read). */
const SKIPPED_BIG = 2 * 2 ** 32;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

const symbols = {
  roar_abi_version: { args: [], returns: FFIType.u32 },
  roar_hash_bytes: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.void },
  roar_hasher_new: { args: [], returns: FFIType.ptr },
  roar_hasher_update: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.void },
  roar_hasher_finalize: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  roar_hasher_free: { args: [FFIType.ptr], returns: FFIType.void },
  roar_hash_fd: {
    args: [FFIType.i32, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  roar_stat_paths: { args: [FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  roar_changed_paths: {
    args: [FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  roar_hash_paths: {
    args: [FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  roar_queue_new: { args: [], returns: FFIType.ptr },
  roar_queue_changed: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.ptr],
    returns: FFIType.u32,
  },
  roar_queue_take_changed: { args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  roar_queue_hash: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u32, FFIType.u64, FFIType.u64, FFIType.u32],
    returns: FFIType.u32,
  },
  roar_queue_take_hash: {
    args: [FFIType.ptr, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  roar_queue_free: { args: [FFIType.ptr], returns: FFIType.void },
  roar_cpu_room_make: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  roar_cpu_room_end: { args: [], returns: FFIType.i32 },
  roar_exit_aside: { args: [FFIType.u64], returns: FFIType.i32 },
  roar_exit_aside_prepare: { args: [], returns: FFIType.void },
} as const;

/** Each file's outcome from a hashing's digests and metadata (rust/hash: roar_hash_paths). */
function hashOutcomes(paths: readonly string[], digests: Uint8Array, meta: BigUint64Array): FileHashOutcome[] {
  const signed = new BigInt64Array(meta.buffer);
  // errno as 32-bit words, as in statRegularFiles; every digest's hex from one conversion of the whole output
  // (one Buffer a file cost ~0.6 µs).
  const words = new Uint32Array(meta.buffer);
  const hex = Buffer.from(digests.buffer, digests.byteOffset, digests.byteLength).toString("hex");
  return paths.map((path, i): FileHashOutcome => {
    const base = i * HASH_FIELDS;
    const errno = words[2 * base] === 0 && words[2 * base + 1] === 0 ? 0 : Number(meta[base]);
    if (errno !== 0) {
      const code =
        errno === NOT_REGULAR
          ? "ENOTREGULAR"
          : errno === SKIPPED_BIG
            ? "ESKIPPED"
            : (errnoName(errno) ?? `ERRNO${errno}`);
      return { ok: false, code, error: errorText(code, path) };
    }
    const identity = identityAt(meta, signed, base);
    return {
      ok: true,
      blake3: hex.slice(2 * i * OUT_LEN, 2 * (i + 1) * OUT_LEN),
      size: Number(identity.size),
      digests: {},
      identity,
      hashedAtNs: signed[base + STAT_FIELDS] as bigint,
      stable: meta[base + STAT_FIELDS + 1] === 1n,
    };
  });
}

/**
 * Work done on a native thread of its own (rust/hash: Queue) while the caller goes on with what does not need it:
 * hashing first, then in the order queued. Each call returns a function that waits for its result, helping with
 * what is left of it (null: not queued; do it here).
 * Closing waits for queued work to finish and joins the thread; results are taken before.
 */
export interface NativeQueue {
  /** As NativeBlake3.changedSince; or the paths of a ChangeCheckList, encoded already. */
  changedSince(
    paths: readonly string[] | ChangeCheckList,
    seen?: readonly { readonly size: number; readonly mtimeNs: number }[],
  ): (() => boolean[]) | null;
  /**
   * As NativeBlake3.hashPaths, stability checked, files read (never mapped): a file over `maxSize` bytes, or over
   * what is left of `maxTotal` bytes for the list, is not read (code "ESKIPPED").
   */
  hashPaths(
    paths: readonly string[],
    options: { maxSize: number; maxTotal: number; retries?: number },
  ): (() => FileHashOutcome[]) | null;
  close(): void;
}

/** The identity fields at `base` of a stat/hash output (dev, ino, size unsigned; times signed). */
function identityAt(unsigned: BigUint64Array, signed: BigInt64Array, base: number): FileIdentity {
  return {
    dev: unsigned[base + 2] as bigint,
    ino: unsigned[base + 3] as bigint,
    size: unsigned[base + 4] as bigint,
    mtimeNs: signed[base + 5] as bigint,
    ctimeNs: signed[base + 6] as bigint,
  };
}

function errorText(code: string, path: string): string {
  if (code === "ENOTREGULAR" || code === "EISDIR") return `${code}: not a regular file: ${path}`;
  return `${code}: cannot read ${path}`;
}

type NativeSymbols = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

/** An errno returned by the native kernel, shaped like node:fs errors (`code` = "ENOENT", ...). */
export class NativeHashError extends Error {
  constructor(
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${code}: native hash failed (errno ${errno})`);
  }
}

export interface NativeHasher {
  update(data: Uint8Array): void;
  finish(): string;
  dispose(): void;
}

export class NativeBlake3 {
  private readonly out = new Uint8Array(OUT_LEN);
  private readonly hashedLength = new BigUint64Array(1);

  constructor(
    private readonly lib: NativeSymbols,
    readonly path: string,
  ) {}

  hashBytes(data: Uint8Array): string {
    // bun:ffi cannot take a pointer to an empty buffer; any valid pointer will do for length 0.
    this.lib.roar_hash_bytes(data.byteLength ? ptr(data) : ptr(this.out), data.byteLength, ptr(this.out));
    return toHex(this.out);
  }

  /**
   * Hashes the whole file open as `fd` (from offset 0). `threads` 0 uses every core for large files; `mmap` false
   * reads instead of mapping (a mapped file truncated meanwhile would kill the process with SIGBUS).
   */
  hashFd(fd: number, options: { threads?: number; mmap?: boolean } = {}): { blake3: string; size: number } {
    const errno = this.lib.roar_hash_fd(
      fd,
      options.threads ?? 0,
      options.mmap === false ? 0 : 1,
      ptr(this.out),
      ptr(this.hashedLength),
    );
    if (errno !== 0) throw new NativeHashError(errno, errnoName(errno) ?? `ERRNO${errno}`);
    return { blake3: toHex(this.out), size: Number(this.hashedLength[0]) };
  }

  /**
   * stat(2) of many paths in one call: each regular file's identity, null for anything else (gone, unreadable,
   * not a regular file). Follows symlinks, as statSync does.
   */
  statRegularFiles(paths: readonly string[]): (FileIdentity | null)[] {
    if (paths.length === 0) return [];
    const block = pathBlock(paths);
    const out = new BigUint64Array(paths.length * STAT_FIELDS);
    this.lib.roar_stat_paths(ptr(block), block.byteLength, paths.length, ptr(out));
    const signed = new BigInt64Array(out.buffer);
    // errno and st_mode read as 32-bit words (little-endian low halves): reading a BigUint64Array element
    // allocates a BigInt, which only the identity of a regular file needs.
    const words = new Uint32Array(out.buffer);
    const result = new Array<FileIdentity | null>(paths.length);
    for (let i = 0; i < paths.length; i++) {
      const base = i * STAT_FIELDS;
      const regular =
        words[2 * base] === 0 && words[2 * base + 1] === 0 && ((words[2 * base + 2] as number) & S_IFMT) === S_IFREG;
      result[i] = regular ? identityAt(out, signed, base) : null;
    }
    return result;
  }

  /**
   * Which files changed since a tracer saw them (its size and mtime, as numbers): true for one that is not that
   * regular file now (other size or mtime, gone, not regular). One stat each, no identity built.
   */
  changedSince(
    paths: readonly string[],
    seen: readonly { readonly size: number; readonly mtimeNs: number }[],
  ): boolean[] {
    if (paths.length === 0) return [];
    const block = pathBlock(paths);
    const expected = expectedOf(seen);
    const out = new BigUint64Array(paths.length);
    this.lib.roar_changed_paths(ptr(block), block.byteLength, paths.length, ptr(expected), ptr(out));
    return changedFlags(out);
  }

  /**
   * Hashes many whole files in one call, as hashFileSync does each (open, fstat, hash, fstat again to tell
   * whether it changed while read, retried): one crossing of the FFI per batch instead of five fs calls a file.
   */
  hashPaths(paths: readonly string[], options: FileHashOptions = {}): FileHashOutcome[] {
    if (paths.length === 0) return [];
    const block = pathBlock(paths);
    const digests = new Uint8Array(paths.length * OUT_LEN);
    const meta = new BigUint64Array(paths.length * HASH_FIELDS);
    this.lib.roar_hash_paths(
      ptr(block),
      block.byteLength,
      paths.length,
      options.checkStable === false ? 0 : 1,
      options.mmap === false ? 0 : 1,
      options.retries ?? 2,
      ptr(digests),
      ptr(meta),
    );
    return hashOutcomes(paths, digests, meta);
  }

  /** A background queue of its own thread (see NativeQueue), or null when its thread cannot start. */
  queue(): NativeQueue | null {
    const lib = this.lib;
    const handle = lib.roar_queue_new();
    if (!handle) return null;
    let open = true;
    const taker = <T>(id: number, take: () => T): (() => T) | null => {
      if (id === 0) return null;
      let taken = false;
      return () => {
        if (!open || taken) throw new Error("roar_hash: queued work taken after its queue closed, or twice");
        taken = true;
        return take();
      };
    };
    return {
      changedSince(paths, seen) {
        if (!open) return null;
        // The paths as they are now (the caller's list may grow after: EarlyIdentities adds to it).
        const { block, expected, count } =
          paths instanceof ChangeCheckList
            ? paths.encoded()
            : { block: pathBlock(paths), expected: expectedOf(seen ?? []), count: paths.length };
        const id = lib.roar_queue_changed(handle, ptr(block), block.byteLength, count, ptr(expected));
        return taker(id, () => {
          const out = new BigUint64Array(Math.max(1, count));
          const rc = lib.roar_queue_take_changed(handle, id, count, ptr(out));
          if (rc !== 0) throw new NativeHashError(rc, errnoName(rc) ?? `ERRNO${rc}`);
          return changedFlags(out.subarray(0, count));
        });
      },
      hashPaths(paths, options) {
        if (!open) return null;
        const queued = paths.slice(); // as they are now, as changedSince
        const block = pathBlock(queued);
        const id = lib.roar_queue_hash(
          handle,
          ptr(block),
          block.byteLength,
          queued.length,
          options.maxSize,
          options.maxTotal,
          options.retries ?? 2,
        );
        return taker(id, () => {
          const digests = new Uint8Array(Math.max(1, queued.length) * OUT_LEN);
          const meta = new BigUint64Array(Math.max(1, queued.length) * HASH_FIELDS);
          const rc = lib.roar_queue_take_hash(handle, id, queued.length, ptr(digests), ptr(meta));
          if (rc !== 0) throw new NativeHashError(rc, errnoName(rc) ?? `ERRNO${rc}`);
          return hashOutcomes(queued, digests, meta);
        });
      },
      close() {
        if (!open) return;
        open = false;
        lib.roar_queue_free(handle);
      },
    };
  }

  createHasher(): NativeHasher {
    const lib = this.lib;
    const out = this.out;
    let hasher = lib.roar_hasher_new();
    if (!hasher) throw new Error("roar_hash: cannot allocate a hasher");
    return {
      update(data: Uint8Array): void {
        if (!hasher) throw new Error("roar_hash: hasher used after finish/dispose");
        if (data.byteLength) lib.roar_hasher_update(hasher, ptr(data), data.byteLength);
      },
      finish(): string {
        if (!hasher) throw new Error("roar_hash: hasher used after finish/dispose");
        lib.roar_hasher_finalize(hasher, ptr(out));
        hasher = null;
        return toHex(out);
      },
      dispose(): void {
        if (hasher) lib.roar_hasher_free(hasher);
        hasher = null;
      },
    };
  }
}

let loaded: { kernel: NativeBlake3 | null; reason: string } | undefined;
/** The library's calls about roar's own process (see native-process.ts), once it is loaded. */
let processCalls: NativeProcessCalls | undefined;

export interface NativeProcessCalls {
  cpuRoomMake(pinTracers: number, jobPid: number): number;
  cpuRoomEnd(): number;
  exitAside(minResident: number): number;
  exitAsidePrepare(): void;
}

/** The library's calls about roar's own process, when it is loaded (undefined: not loaded, or not here). */
export function loadedProcessCalls(): NativeProcessCalls | undefined {
  return processCalls;
}

/**
 * The native kernel, or null (with the reason) when libroar_hash is not built, cannot be loaded or has another
 * ABI version. ROAR_HASH_KERNEL=wasm disables it. Loaded once per thread.
 */
export function loadNativeBlake3(): { kernel: NativeBlake3 | null; reason: string } {
  loaded ??= open();
  return loaded;
}

function open(): { kernel: NativeBlake3 | null; reason: string } {
  if (process.env.ROAR_HASH_KERNEL === "wasm") return { kernel: null, reason: "disabled by ROAR_HASH_KERNEL=wasm" };
  const path = findLibrary("roar_hash");
  if (!path) return { kernel: null, reason: "libroar_hash not found (build it with scripts/build-native-hash.ts)" };
  try {
    const lib = dlopenLazily(path, symbols);
    const version = lib.symbols.roar_abi_version();
    if (version !== NATIVE_ABI_VERSION) {
      lib.close();
      return { kernel: null, reason: `${path} has ABI version ${version}, expected ${NATIVE_ABI_VERSION}` };
    }
    const calls = lib.symbols;
    processCalls = {
      cpuRoomMake: (pinTracers, jobPid) => calls.roar_cpu_room_make(pinTracers, jobPid),
      cpuRoomEnd: () => calls.roar_cpu_room_end(),
      exitAside: (minResident) => calls.roar_exit_aside(minResident),
      exitAsidePrepare: () => calls.roar_exit_aside_prepare(),
    };
    return { kernel: new NativeBlake3(lib.symbols, path), reason: "" };
  } catch (err) {
    return { kernel: null, reason: `cannot load ${path}: ${(err as Error).message}` };
  }
}
