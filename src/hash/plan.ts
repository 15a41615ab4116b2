/**
 * Which files a hashFiles call sends to the workers, and how: files the hash cache vouches for are served from
 * it, the rest are grouped into batches sized to keep every worker busy.
 */
import type { ExtraAlgorithm } from "./algorithms.ts";
import { type HashCacheRow, type HashCacheStore, isUsableRow, type RowValues, rowValues } from "./cache.ts";
import { type FileIdentity, identitiesOf } from "./file.ts";
import type { FileDigest } from "./index.ts";

/** Files up to this size are grouped into batches; larger ones travel alone so the work spreads evenly. */
const SMALL_FILE_BYTES = 1024 * 1024;
const BATCH_MAX_FILES = 64;
const BATCH_MAX_BYTES = 8 * 1024 * 1024;
/** Without a cache sizes are unknown up front: smaller batches keep the workers evenly busy. */
const UNKNOWN_SIZE_BATCH_FILES = 16;

/** A file to hash. */
export interface Job {
  path: string;
  /** From the main thread's stat when a cache is in use. */
  size?: bigint;
  /** The cache's row for this inode, stale or racy (its extra digests may still apply). */
  previous?: HashCacheRow;
}

export interface CacheLookup {
  cache: HashCacheStore;
  /** Stats the caller already took (path → identity). */
  known: ReadonlyMap<string, FileIdentity> | undefined;
  algorithms: readonly ExtraAlgorithm[];
  racyWindowNs: bigint;
}

/**
 * Stats every path, looks them all up in the cache in bulk: the digests it can serve (in `paths` order), and the
 * files still to hash (with their sizes, for batching).
 */
export function lookupCached(
  paths: readonly string[],
  lookup: CacheLookup,
): { hits: [string, FileDigest][]; misses: Job[] } {
  const { cache, algorithms, racyWindowNs } = lookup;
  const hits: [string, FileDigest][] = [];
  const misses: Job[] = [];
  const identities: (FileIdentity | null | undefined)[] = paths.map((path) => lookup.known?.get(path));
  // The rest are statted in one batch; a file that is not there (or not regular) is left to the worker, whose
  // own attempt gives the precise error.
  const unknown = paths.filter((_, i) => !identities[i]);
  if (unknown.length) {
    const found = identitiesOf(unknown);
    let u = 0;
    paths.forEach((_, i) => {
      if (!identities[i]) identities[i] = found[u++];
    });
  }
  const keys: FileIdentity[] = [];
  for (const identity of identities) if (identity) keys.push(identity);
  const rows = cache.getMany ? cache.getMany(keys) : keys.map((key) => cache.get(key.dev, key.ino));
  let k = 0;
  paths.forEach((path, i) => {
    const identity = identities[i];
    if (!identity) {
      misses.push({ path });
      return;
    }
    const row = rows[k++];
    if (isUsableRow(row, identity, algorithms, racyWindowNs)) {
      hits.push([path, digestOfRow(row, algorithms)]);
    } else {
      misses.push(row ? { path, size: identity.size, previous: row } : { path, size: identity.size });
    }
  });
  return { hits, misses };
}

/** The digest a usable cache row serves. */
function digestOfRow(row: HashCacheRow, algorithms: readonly ExtraAlgorithm[]): FileDigest {
  return {
    blake3: row.blake3,
    size: Number(row.size),
    digests: algorithms.length ? pick(row.extra, algorithms) : {},
    cached: true,
  };
}

/** A file as a tracer saw it when it was opened (OpenStat: numbers; nanosecond times rounded beyond 2^53). */
export interface StatAtOpen {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: number;
  ctimeNs: number;
}

/**
 * The files the cache vouches for as they were when opened: a trustworthy row of the same inode with the same size
 * and times, all compared as numbers (as the tracer reported them). Sound without a stat: a trustworthy row was
 * taken a racy window after the file's last change, so any later change moved its times by far more than the
 * rounding of a nanosecond time to a double; the trust test itself keeps a margin for that rounding. The rows are
 * looked up as numbers in one batch (HashCacheStore.rowsOfInodes, where the store has it). Files with a dev or
 * inode beyond 2^53, or with no usable row, are left out.
 */
export function vouchedAtOpen(
  files: readonly { path: string; stat: StatAtOpen }[],
  lookup: Omit<CacheLookup, "known"> & {
    /**
     * Called with each digest vouched for that the store records as an artifact, when its cache can tell in the
     * same lookup (rowsOfInodes' `artifacts`); null: it cannot, nothing is called.
     */
    onArtifact?: ((blake3: string) => void) | null;
  },
): Map<string, FileDigest> {
  const out = new Map<string, FileDigest>();
  const exact = files.filter((f) => Number.isSafeInteger(f.stat.dev) && Number.isSafeInteger(f.stat.ino));
  if (exact.length === 0) return out;
  const { cache, algorithms, racyWindowNs } = lookup;
  let rows: (RowValues | undefined)[];
  const onArtifact = cache.rowsOfInodes ? lookup.onArtifact : null;
  if (cache.rowsOfInodes) {
    rows = cache.rowsOfInodes(
      exact.map((f) => f.stat),
      onArtifact ? { artifacts: true } : undefined,
    );
  } else {
    const keys = exact.map((f) => ({ dev: BigInt(f.stat.dev), ino: BigInt(f.stat.ino) }));
    const found = cache.getMany ? cache.getMany(keys) : keys.map((key) => cache.get(key.dev, key.ino));
    rows = found.map((row) => (row ? rowValues(row) : undefined));
  }
  // Trusted only with 1 µs to spare beyond the racy window: the times are doubles, rounded to ~256 ns.
  const window = Number(racyWindowNs) + 1000;
  exact.forEach(({ path, stat }, i) => {
    const row = rows[i];
    // size, mtime, ctime as the tracer saw them; the last change a racy window before the hashing.
    if (!row || row[2] !== stat.size || row[3] !== stat.mtimeNs || row[4] !== stat.ctimeNs) return;
    if (Math.max(row[3], row[4]) + window > row[7]) return;
    let digests: Partial<Record<ExtraAlgorithm, string>> = NO_EXTRA_DIGESTS;
    if (algorithms.length) {
      const extra = parseDigests(row[6]);
      if (algorithms.some((alg) => !extra[alg])) return;
      digests = pick(extra, algorithms);
    }
    out.set(path, { blake3: row[5], size: row[2], digests, cached: true });
    if (onArtifact && row[8] === 1) onArtifact(row[5]);
  });
  return out;
}

/** Shared by every file served without extra algorithms: one object, not one a file (tens of thousands a job). */
export const NO_EXTRA_DIGESTS: Partial<Record<ExtraAlgorithm, string>> = Object.freeze({});

/** A row's extra digests (JSON text); a damaged one counts as none (they are recomputed). */
function parseDigests(json: string | null): Partial<Record<ExtraAlgorithm, string>> {
  try {
    return json ? (JSON.parse(json) as Partial<Record<ExtraAlgorithm, string>>) : {};
  } catch {
    return {};
  }
}

function pick(
  digests: Partial<Record<ExtraAlgorithm, string>>,
  algorithms: readonly ExtraAlgorithm[],
): Partial<Record<ExtraAlgorithm, string>> {
  const out: Partial<Record<ExtraAlgorithm, string>> = {};
  for (const alg of algorithms) if (digests[alg]) out[alg] = digests[alg];
  return out;
}

export function makeBatches(jobs: Job[], sizesKnown: boolean): Job[][] {
  if (!sizesKnown) {
    const batches: Job[][] = [];
    for (let i = 0; i < jobs.length; i += UNKNOWN_SIZE_BATCH_FILES)
      batches.push(jobs.slice(i, i + UNKNOWN_SIZE_BATCH_FILES));
    return batches;
  }
  const large: Job[][] = [];
  const small: Job[][] = [];
  let current: Job[] = [];
  let currentBytes = 0n;
  for (const job of jobs) {
    const size = job.size ?? 0n;
    if (size > SMALL_FILE_BYTES) {
      large.push([job]);
      continue;
    }
    if (current.length >= BATCH_MAX_FILES || currentBytes + size > BATCH_MAX_BYTES) {
      small.push(current);
      current = [];
      currentBytes = 0n;
    }
    current.push(job);
    currentBytes += size;
  }
  if (current.length) small.push(current);
  // Large files first, so a big file does not start last and leave the other workers idle at the end.
  large.sort((a, b) => Number((b[0]?.size ?? 0n) - (a[0]?.size ?? 0n)));
  return [...large, ...small];
}
