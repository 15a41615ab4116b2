/**
 * Hashing one file, synchronously, in whatever thread calls it (a pool worker, or the caller's thread in tests).
 * BLAKE3 and the extra algorithms are fed from the same reads.
 */
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { fsPath } from "../shared/paths.ts";
import type { ExtraAlgorithm } from "./algorithms.ts";
import { loadNativeBlake3, type NativeBlake3 } from "./native.ts";
import { loadWasmBlake3, WASM_MAX_UPDATE, type WasmBlake3 } from "./wasm.ts";

export type KernelName = "native" | "wasm";
export type KernelChoice = KernelName | "auto";

/** The BLAKE3 implementation a thread hashes with. */
export type HashEngine = { kind: "wasm"; wasm: WasmBlake3 } | { kind: "native"; native: NativeBlake3 };

/** What identifies a file's content for the hash cache (see cache.ts). */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export type FileHashOutcome =
  | {
      ok: true;
      blake3: string;
      size: number;
      digests: Partial<Record<ExtraAlgorithm, string>>;
      /** The file as fstat saw it just before it was read. */
      identity: FileIdentity;
      /** Wall-clock time just before the file was opened: the racy-timestamp guard compares mtime with it. */
      hashedAtNs: bigint;
      /** False when the file changed while it was read (size or timestamps moved): the digest must not be cached. */
      stable: boolean;
    }
  | { ok: false; code: string; error: string };

export interface FileHashOptions {
  /** Native kernel only: threads for one large file (0 = one per core). */
  threads?: number;
  /** Native kernel only: memory-map large files (fastest; a file truncated meanwhile raises SIGBUS). */
  mmap?: boolean;
  /** Re-stat after reading to detect concurrent changes (needed before caching; default true). */
  checkStable?: boolean;
  /** How many times to re-read a file that changed while it was read before giving up on a stable digest. */
  retries?: number;
}

/** Chunk size for reads that feed the native hasher or CryptoHasher (the wasm path uses WASM_MAX_UPDATE). */
const NATIVE_READ_CHUNK = 4 * 1024 * 1024;
/** Below this size (and without extra algorithms) the native kernel hashes one read() from JS. */
const SMALL_NATIVE_BYTES = 256 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export async function createEngine(choice: KernelChoice): Promise<{ engine: HashEngine; fallbackReason: string }> {
  if (choice !== "wasm") {
    const { kernel, reason } = loadNativeBlake3();
    if (kernel) return { engine: { kind: "native", native: kernel }, fallbackReason: "" };
    if (choice === "native") throw new Error(`native BLAKE3 kernel unavailable: ${reason}`);
    return { engine: { kind: "wasm", wasm: await loadWasmBlake3() }, fallbackReason: reason };
  }
  return { engine: { kind: "wasm", wasm: await loadWasmBlake3() }, fallbackReason: "" };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/**
 * Which files changed since a tracer saw them at their open (`seen[i]`: the size and mtime it reported for
 * `paths[i]`, numbers): true for one that is not that regular file now. Cheaper than identitiesOf when the
 * identity itself is not needed.
 */
export function changedSince(
  paths: readonly string[],
  seen: readonly { readonly size: number; readonly mtimeNs: number }[],
): boolean[] {
  if (paths.length === 0) return [];
  const { kernel } = loadNativeBlake3();
  if (kernel) return kernel.changedSince(paths, seen);
  const now = identitiesOf(paths);
  return paths.map((_, i) => {
    const id = now[i];
    const was = seen[i] as { size: number; mtimeNs: number };
    return !id || Number(id.size) !== was.size || Number(id.mtimeNs) !== was.mtimeNs;
  });
}

/**
 * The identities of many files as they are now (null: gone, unreadable or not a regular file), following
 * symlinks: one native call for the lot when the kernel is there (~0.5 µs a file instead of ~4 µs for a bigint
 * statSync), else statSync each.
 */
export function identitiesOf(paths: readonly string[]): (FileIdentity | null)[] {
  if (paths.length === 0) return []; // without loading the native library (~1 ms) for nothing
  const { kernel } = loadNativeBlake3();
  if (kernel) return kernel.statRegularFiles(paths);
  return paths.map((path) => {
    try {
      const st = statSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
      return st?.isFile() ? identityOf(st) : null;
    } catch {
      return null;
    }
  });
}

function sameContentStamp(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

function errorOutcome(err: unknown): FileHashOutcome {
  const e = err as NodeJS.ErrnoException;
  return { ok: false, code: typeof e?.code === "string" ? e.code : "EIO", error: e?.message ?? String(err) };
}

/** Hashes the file at `path` (a roar path string, see src/shared/paths.ts). Never throws for I/O problems. */
export function hashFileSync(
  path: string,
  algorithms: readonly ExtraAlgorithm[],
  engine: HashEngine,
  options: FileHashOptions = {},
): FileHashOutcome {
  let fd: number;
  const hashedAtNs = nowNs();
  try {
    fd = openSync(fsPath(path), OPEN_FLAGS);
  } catch (err) {
    return errorOutcome(err);
  }
  try {
    let attempts = (options.retries ?? 2) + 1;
    for (;;) {
      const attemptStartNs = attempts === (options.retries ?? 2) + 1 ? hashedAtNs : nowNs();
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) {
        const code = st.isDirectory() ? "EISDIR" : "ENOTREGULAR";
        return { ok: false, code, error: `${code}: not a regular file: ${path}` };
      }
      const identity = identityOf(st);
      const { blake3, size, digests } = hashOpenFile(fd, algorithms, engine, options, Number(identity.size));
      // Without a cache nobody relies on `stable`, so the second fstat is skipped.
      const after = options.checkStable === false ? identity : identityOf(fstatSync(fd, { bigint: true }));
      const stable = sameContentStamp(identity, after) && BigInt(size) === after.size;
      attempts -= 1;
      if (stable || attempts <= 0) {
        return { ok: true, blake3, size, digests, identity, hashedAtNs: attemptStartNs, stable };
      }
    }
  } catch (err) {
    return errorOutcome(err);
  } finally {
    closeSync(fd);
  }
}

function hashOpenFile(
  fd: number,
  algorithms: readonly ExtraAlgorithm[],
  engine: HashEngine,
  options: FileHashOptions,
  knownSize?: number,
): { blake3: string; size: number; digests: Partial<Record<ExtraAlgorithm, string>> } {
  if (
    engine.kind === "native" &&
    algorithms.length === 0 &&
    knownSize !== undefined &&
    knownSize < SMALL_NATIVE_BYTES
  ) {
    const buffer = nativeReadBuffer();
    const n = readSync(fd, buffer, 0, buffer.byteLength, 0);
    // A short read is the end of a regular file; a full buffer means it grew: use the whole-file path below.
    if (n < buffer.byteLength) return { blake3: engine.native.hashBytes(buffer.subarray(0, n)), size: n, digests: {} };
  }
  if (engine.kind === "native" && algorithms.length === 0) {
    // Whole file in one call: mmap + all cores, no copy through JS.
    const { blake3, size } = engine.native.hashFd(fd, { threads: options.threads ?? 0, mmap: options.mmap ?? true });
    return { blake3, size, digests: {} };
  }
  const extras = algorithms.map((alg) => ({ alg, hasher: new Bun.CryptoHasher(alg) }));
  let size = 0;
  let blake3: string;
  if (engine.kind === "native") {
    const buffer = nativeReadBuffer();
    const hasher = engine.native.createHasher();
    try {
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.byteLength, size);
        if (n === 0) break;
        const chunk = buffer.subarray(0, n);
        hasher.update(chunk);
        for (const { hasher: extra } of extras) extra.update(chunk);
        size += n;
        // A regular file only reads short at its end: saves the extra read() per small file.
        if (n < buffer.byteLength) break;
      }
      blake3 = hasher.finish();
    } finally {
      hasher.dispose();
    }
  } else {
    const wasm = engine.wasm;
    const hasher = wasm.createHasher();
    try {
      for (;;) {
        // Read straight into the wasm heap so BLAKE3 needs no copy; at most 1 MiB per update (see wasm.ts).
        const n = readSync(fd, wasm.heap, wasm.buffer, WASM_MAX_UPDATE, size);
        if (n === 0) break;
        const atEnd = n < WASM_MAX_UPDATE; // regular files only read short at their end
        hasher.updateFromHeap(wasm.buffer, n);
        if (extras.length) {
          const chunk = wasm.heap.subarray(wasm.buffer, wasm.buffer + n);
          for (const { hasher: extra } of extras) extra.update(chunk);
        }
        size += n;
        if (atEnd) break;
      }
      blake3 = hasher.finish();
    } finally {
      hasher.dispose();
    }
  }
  const digests: Partial<Record<ExtraAlgorithm, string>> = {};
  for (const { alg, hasher } of extras) digests[alg] = hasher.digest("hex");
  return { blake3, size, digests };
}

let sharedNativeBuffer: Buffer | undefined;
function nativeReadBuffer(): Buffer {
  sharedNativeBuffer ??= Buffer.allocUnsafe(NATIVE_READ_CHUNK);
  return sharedNativeBuffer;
}
