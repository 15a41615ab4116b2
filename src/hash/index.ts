/**
 * roar's hashing subsystem: every file is identified by its BLAKE3 digest; sha256/sha512/sha1/md5 can be added
 * (computed from the same reads). With the native kernel (libroar_hash: a batch of files per call, mmap + all
 * cores for a big one) up to tens of megabytes are hashed in the calling thread, more in a pool of worker threads;
 * where that library is missing, the pool hashes with blake3-wasm. Unchanged files are served from the hash cache
 * (plan.ts: the cache lookup and the batches).
 */
import type { ExtraAlgorithm } from "./algorithms.ts";
import { DEFAULT_RACY_WINDOW_NS, type HashCacheRow, type HashCacheStore } from "./cache.ts";
import {
  createEngine,
  type FileHashOptions,
  type FileHashOutcome,
  type FileIdentity,
  type HashEngine,
  hashFileSync,
  type KernelChoice,
  type KernelName,
} from "./file.ts";
import { loadNativeBlake3 } from "./native.ts";
import { type Job, lookupCached, makeBatches, NO_EXTRA_DIGESTS, type StatAtOpen, vouchedAtOpen } from "./plan.ts";
import { HashPool, HashPoolStartError } from "./pool.ts";

export { EXTRA_ALGORITHMS, type ExtraAlgorithm, normalizeAlgorithms, parseAlgorithm } from "./algorithms.ts";
export {
  DEFAULT_RACY_WINDOW_NS,
  type HashCacheRow,
  type HashCacheStore,
  isTrustworthy,
  MemoryHashCache,
} from "./cache.ts";
export type { FileHashOutcome, FileIdentity, KernelChoice, KernelName } from "./file.ts";
export type { StatAtOpen } from "./plan.ts";
export { NO_EXTRA_DIGESTS } from "./plan.ts";
export { setHashWorkerUrl } from "./pool.ts";

export interface FileDigest {
  blake3: string;
  size: number;
  /** Extra algorithms requested, by name. */
  digests: Partial<Record<ExtraAlgorithm, string>>;
  /** True when served from the hash cache without reading the file. */
  cached: boolean;
}

export interface FileHashError {
  /** errno-style code: ENOENT, EACCES, EISDIR, ENOTREGULAR (fifo, device, socket), EWORKER, ... */
  code: string;
  error: string;
}

export type FileHashResult = FileDigest | FileHashError;

export function isHashError(result: FileHashResult | undefined): result is FileHashError {
  return result !== undefined && "error" in result;
}

export interface HashProgress {
  filesDone: number;
  filesTotal: number;
  bytesHashed: number;
  cacheHits: number;
}

export interface HashFilesOptions {
  /** Extra algorithms besides BLAKE3. */
  algorithms?: readonly ExtraAlgorithm[];
  /** Serve unchanged files from here and record new digests in it. */
  cache?: HashCacheStore;
  /** Racy-timestamp window for the cache (default 1 s). */
  racyWindowNs?: bigint;
  onProgress?: (progress: HashProgress) => void;
  /** "auto" (default, or $ROAR_HASH_KERNEL): native when libroar_hash is found, else wasm. */
  kernel?: KernelChoice;
  /** Native kernel: memory-map large files (default true; $ROAR_HASH_MMAP=0 turns it off). */
  mmap?: boolean;
  /** Stats the caller already took (path → identity): spares a second stat of those files. */
  known?: ReadonlyMap<string, FileIdentity>;
  /**
   * Files the cache was just asked about and cannot serve, with their sizes (path → bytes): hashed without a
   * stat or a lookup of their own. Without a cache: the sizes of the files, which let a small set be hashed in
   * the calling thread (starting the worker pool for a few files costs ~9 ms).
   */
  unlooked?: ReadonlyMap<string, bigint>;
  /** Called with each hashed file's identity as the hashing saw it (fstat before the read). */
  onHashed?: (path: string, identity: FileIdentity) => void;
  /**
   * Files hashed already (queued after a job: run/record/ahead.ts), by path: each one read whole without a change
   * (`ok` and `stable`) counts as hashed here, neither looked up nor read again; the others are hashed as usual.
   * Only for files with no cache row worth consulting (the job created or rewrote them): their rows are written as
   * new.
   */
  hashedAhead?: ReadonlyMap<string, FileHashOutcome>;
}

/** Cache rows are written in transactions of this many. */
const CACHE_FLUSH_ROWS = 1000;

function defaultKernel(): KernelChoice {
  const env = process.env.ROAR_HASH_KERNEL;
  return env === "native" || env === "wasm" ? env : "auto";
}

const pools = new Map<KernelChoice, HashPool>();

function poolFor(kernel: KernelChoice): HashPool {
  let pool = pools.get(kernel);
  if (!pool) {
    pool = new HashPool(kernel);
    pools.set(kernel, pool);
  }
  return pool;
}

/** Which kernel files are hashed with for this choice (starts the pool if needed). */
export async function hashKernel(
  kernel: KernelChoice = defaultKernel(),
): Promise<{ kernel: KernelName; fallbackReason: string }> {
  try {
    return await poolFor(kernel).ready;
  } catch (err) {
    if (!(err instanceof HashPoolStartError)) throw err;
    // hashFiles falls back to this thread then; report the kernel it will use there.
    const { engine, fallbackReason } = await createEngine(kernel);
    return { kernel: engine.kind, fallbackReason };
  }
}

/** vouchedAtOpen (plan.ts) with hashFiles's defaults: the files the cache vouches for as a tracer saw them opened. */
export function cachedAtOpen(
  files: readonly { path: string; stat: StatAtOpen }[],
  options: {
    cache: HashCacheStore;
    algorithms?: readonly ExtraAlgorithm[];
    racyWindowNs?: bigint;
    /** See vouchedAtOpen. */
    onArtifact?: ((blake3: string) => void) | null;
  },
): Map<string, FileDigest> {
  return vouchedAtOpen(files, {
    cache: options.cache,
    algorithms: [...new Set(options.algorithms ?? [])].sort(),
    racyWindowNs: options.racyWindowNs ?? DEFAULT_RACY_WINDOW_NS,
    onArtifact: options.onArtifact,
  });
}

/** A file hashed while the job ran: its digest, and the file as the hashing saw it (fstat before the read). */
export interface HashedWhileRunning {
  digest: FileDigest;
  identity: FileIdentity;
}

/** Files a native call hashes while the job runs: below 2 × 512 the kernel stays on the calling thread. */
const WHILE_RUNNING_CHUNK = 512;

/**
 * Hashes small files a job opened, in this thread, while the job runs (run/early-identities.ts): a native call per
 * WHILE_RUNNING_CHUNK files, never spread over more threads (the other cores are the job's). Errors are left out.
 * Each file read whole without a change gets its cache row, as hashFiles would write it (unless the store cannot
 * take them now: the digests stand, the next run hashes again). Null where the files are better hashed after the
 * job: no native kernel here, or extra algorithms asked for.
 */
export function hashWhileRunning(
  paths: readonly string[],
  options: { cache: HashCacheStore; algorithms?: readonly ExtraAlgorithm[] },
): Map<string, HashedWhileRunning> | null {
  if ((options.algorithms?.length ?? 0) > 0 || defaultKernel() === "wasm") return null;
  const { kernel } = loadNativeBlake3();
  if (!kernel) return null;
  const out = new Map<string, HashedWhileRunning>();
  const rows: HashCacheRow[] = [];
  for (let start = 0; start < paths.length; start += WHILE_RUNNING_CHUNK) {
    const chunk = paths.slice(start, start + WHILE_RUNNING_CHUNK);
    kernel.hashPaths(chunk, { checkStable: true }).forEach((outcome, i) => {
      if (!outcome.ok) return;
      out.set(chunk[i] as string, {
        digest: { blake3: outcome.blake3, size: outcome.size, digests: NO_EXTRA_DIGESTS, cached: false },
        identity: outcome.identity,
      });
      if (outcome.stable)
        rows.push({ ...outcome.identity, blake3: outcome.blake3, extra: {}, hashedAtNs: outcome.hashedAtNs });
    });
  }
  try {
    options.cache.putMany(rows);
  } catch {
    // A busy or full store: the rows are an optimisation for later runs.
  }
  return out;
}

/**
 * Hashes many files concurrently. Every path gets an entry: a digest, or an error for files that vanished, are
 * unreadable or are not regular files. Paths are roar path strings (non-UTF-8 bytes escaped, see src/shared/paths.ts).
 */
export async function hashFiles(
  paths: Iterable<string>,
  options: HashFilesOptions = {},
): Promise<Map<string, FileHashResult>> {
  const algorithms = [...new Set(options.algorithms ?? [])].sort();
  const racyWindowNs = options.racyWindowNs ?? DEFAULT_RACY_WINDOW_NS;
  const cache = options.cache;
  const results = new Map<string, FileHashResult>();
  const unique = [...new Set(paths)];
  const progress: HashProgress = { filesDone: 0, filesTotal: unique.length, bytesHashed: 0, cacheHits: 0 };
  const ahead: { batch: Job[]; outcomes: FileHashOutcome[] } = { batch: [], outcomes: [] };
  let rest = unique;
  if (options.hashedAhead?.size) {
    rest = [];
    for (const path of unique) {
      const outcome = options.hashedAhead.get(path);
      if (outcome?.ok && outcome.stable) {
        ahead.batch.push({ path });
        ahead.outcomes.push(outcome);
      } else rest.push(path);
    }
  }

  let jobs: Job[];
  if (cache) {
    const { unlooked } = options;
    const toLook = unlooked ? rest.filter((path) => !unlooked.has(path)) : rest;
    const lookup = lookupCached(toLook, { cache, known: options.known, algorithms, racyWindowNs });
    jobs = lookup.misses;
    if (unlooked)
      for (const path of rest) {
        const size = unlooked.get(path);
        if (size !== undefined) jobs.push({ path, size });
      }
    for (const [path, digest] of lookup.hits) results.set(path, digest);
    progress.filesDone = lookup.hits.length;
    progress.cacheHits = lookup.hits.length;
    if (progress.filesDone) options.onProgress?.({ ...progress });
  } else {
    const sizes = options.unlooked;
    jobs = rest.map((path) => ({ path, size: sizes?.get(path) }));
  }
  // Everything came from the cache: already in the caller's order.
  if (jobs.length === 0 && ahead.batch.length === 0) return results;

  const kernel = options.kernel ?? defaultKernel();
  const fileOptions: FileHashOptions = {
    mmap: options.mmap ?? process.env.ROAR_HASH_MMAP !== "0",
    checkStable: cache !== undefined,
  };
  // Up to tens of megabytes (what most jobs read and write) are hashed right here, a batch per native call:
  // worker messages cost more per small file than the hashing does, and the kernel spreads a big file over every
  // core by itself. More than that goes to the worker pool, which overlaps many files' reads.
  // Without a cache, only when the caller gave every size (`unlooked`): a few files must not start the pool.
  const sized = cache !== undefined || jobs.every((job) => job.size !== undefined);
  const here =
    algorithms.length === 0 && kernel !== "wasm" && sized && smallInAll(jobs) ? loadNativeBlake3().kernel : null;
  const pool = here || jobs.length === 0 ? null : poolFor(kernel);
  const hereBatches = here ? chunks(jobs, HERE_BATCH_FILES) : [];
  const poolBatches = here ? [] : makeBatches(jobs, cache !== undefined);
  const pendingRows: HashCacheRow[] = [];
  const flush = () => {
    if (cache && pendingRows.length) cache.putMany(pendingRows.splice(0));
  };

  /** Records a batch's outcomes: results, cache rows, progress. */
  const take = (batch: readonly Job[], outcomes: readonly FileHashOutcome[]) => {
    outcomes.forEach((outcome, i) => {
      const path = batch[i]?.path ?? "";
      if (!outcome.ok) {
        results.set(path, { code: outcome.code, error: outcome.error });
      } else {
        results.set(path, { blake3: outcome.blake3, size: outcome.size, digests: outcome.digests, cached: false });
        options.onHashed?.(path, outcome.identity);
        progress.bytesHashed += outcome.size;
        if (cache && outcome.stable) {
          const looked = batch[i]?.previous;
          // The row looked up belongs to this inode only if the file was not replaced in between; its extra
          // digests of the same content, computed by earlier runs, are kept.
          const previous =
            looked && looked.dev === outcome.identity.dev && looked.ino === outcome.identity.ino ? looked : undefined;
          const sameContent = previous && previous.blake3 === outcome.blake3 && previous.size === outcome.identity.size;
          pendingRows.push({
            ...outcome.identity,
            blake3: outcome.blake3,
            extra: sameContent ? { ...previous.extra, ...outcome.digests } : outcome.digests,
            hashedAtNs: outcome.hashedAtNs,
            replacing: previous !== undefined,
          });
        }
      }
      progress.filesDone++;
    });
    if (pendingRows.length >= CACHE_FLUSH_ROWS) flush();
    options.onProgress?.({ ...progress });
  };

  const onPool = async (pool: HashPool, batch: readonly Job[]): Promise<FileHashOutcome[]> => {
    const batchPaths = pathsOf(batch);
    try {
      return await pool.hashBatch(batchPaths, algorithms, fileOptions);
    } catch (err) {
      if (err instanceof HashPoolStartError) {
        // No workers (e.g. a bundle without the worker entrypoint): slower, but still correct, in this thread.
        warnNoPool(err);
        const engine = await inThreadEngineFor(kernel);
        return batchPaths.map((path) => hashFileSync(path, algorithms, engine, fileOptions));
      }
      const message = err instanceof Error ? err.message : String(err);
      return batchPaths.map(() => ({ ok: false as const, code: "EWORKER", error: message }));
    }
  };

  if (ahead.batch.length > 0) take(ahead.batch, ahead.outcomes);
  let next = 0;
  const runner = async (pool: HashPool) => {
    while (next < poolBatches.length) {
      const batch = poolBatches[next++] ?? [];
      take(batch, await onPool(pool, batch));
    }
  };
  try {
    if (here) for (const batch of hereBatches) take(batch, here.hashPaths(pathsOf(batch), fileOptions));
    if (pool)
      await Promise.all(Array.from({ length: Math.min(poolBatches.length, pool.size * 2) }, () => runner(pool)));
  } finally {
    flush();
  }
  return orderLike(unique, results);
}

/** Hashed in the calling thread rather than the pool: at most this many bytes in all, this many files a call. */
const HERE_MAX_BYTES = 64n * 1024n * 1024n;
const HERE_BATCH_FILES = 4096;

/**
 * Whether the files (sized by the cache lookup's stat; a file without a size could not be statted, and only its
 * error is to be reported) are small in all.
 */
function smallInAll(jobs: readonly Job[]): boolean {
  let bytes = 0n;
  for (const job of jobs) {
    bytes += job.size ?? 0n;
    if (bytes > HERE_MAX_BYTES) return false;
  }
  return true;
}

const pathsOf = (batch: readonly Job[]) => batch.map((job) => job.path);

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function orderLike(paths: string[], results: Map<string, FileHashResult>): Map<string, FileHashResult> {
  const ordered = new Map<string, FileHashResult>();
  for (const path of paths) {
    const result = results.get(path);
    if (result) ordered.set(path, result);
  }
  return ordered;
}

/** Hashes one file; an error entry (not a throw) when it cannot be read. */
export async function hashFile(path: string, options: HashFilesOptions = {}): Promise<FileHashResult> {
  const result = (await hashFiles([path], options)).get(path);
  return result ?? { code: "EIO", error: `no result for ${path}` };
}

const inThreadEngines = new Map<KernelChoice, Promise<HashEngine>>();

function inThreadEngineFor(kernel: KernelChoice): Promise<HashEngine> {
  let engine = inThreadEngines.get(kernel);
  if (!engine) {
    engine = createEngine(kernel).then((r) => r.engine);
    inThreadEngines.set(kernel, engine);
  }
  return engine;
}

let warnedNoPool = false;
function warnNoPool(err: Error): void {
  if (warnedNoPool) return;
  warnedNoPool = true;
  console.error(`roar: hashing in the main thread (${err.message})`);
}

/** BLAKE3 of in-memory bytes, in the calling thread (native kernel when available, else wasm). */
export async function hashBytes(bytes: Uint8Array | string, kernel: KernelChoice = defaultKernel()): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const engine = await inThreadEngineFor(kernel);
  return engine.kind === "native" ? engine.native.hashBytes(data) : engine.wasm.hashBytes(data);
}

/** Terminates the worker pools (idle workers never keep the process alive, but close() frees them at once). */
export function close(): void {
  for (const pool of pools.values()) pool.close();
  pools.clear();
}
