/**
 * The hash cache: a file whose (device, inode, size, mtime, ctime) are unchanged since it was hashed keeps its
 * digests, so re-hashing an unchanged tree costs one stat and one lookup per file.
 *
 * Racy timestamps: a file written again within the filesystem's timestamp granularity of the moment it was
 * hashed can change content without changing mtime/ctime. So an entry is only trusted when the file's newest
 * timestamp is at least `racyWindowNs` older than the moment hashing began; a racy entry is re-hashed (and
 * re-stored, and then trusted once the file has aged).
 */
import type { ExtraAlgorithm } from "./algorithms.ts";
import type { FileIdentity } from "./file.ts";

/** Timestamp granularity assumed for every filesystem (ext4/xfs/btrfs are 1 ns, but FAT is 2 s, NFS/ext3 1 s). */
export const DEFAULT_RACY_WINDOW_NS = 1_000_000_000n;

export interface HashCacheRow {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  blake3: string;
  /** Digests of extra algorithms computed at the same time. */
  extra: Partial<Record<ExtraAlgorithm, string>>;
  hashedAtNs: bigint;
  /**
   * When writing: whether the cache held a row for this inode when it was looked up (false: it had none, so a
   * racy row need not be written at all; undefined: not known).
   */
  replacing?: boolean;
}

/** What the hasher needs from a cache store; the SQLite store below is the real one. */
export interface HashCacheStore {
  get(dev: bigint, ino: bigint): HashCacheRow | undefined;
  put(row: HashCacheRow): void;
  /** Stores many rows at once (one transaction for SQLite). */
  putMany(rows: readonly HashCacheRow[]): void;
  /** Optional bulk lookup (far fewer SQLite round trips); result i belongs to keys[i]. */
  getMany?(keys: readonly { dev: bigint; ino: bigint }[]): (HashCacheRow | undefined)[];
  /**
   * Optional: the rows of these files as numbers (for matching many files against what a tracer saw). With
   * `artifacts`, a store that records artifacts also says of each row whether its content is one (RowValues[8]).
   */
  rowsOfInodes?(
    keys: readonly { dev: number; ino: number }[],
    options?: { artifacts?: boolean },
  ): (RowValues | undefined)[];
}

/**
 * A cache row as numbers, as SQLite gives it (no object a row): dev, ino, size, mtime ns, ctime ns, blake3, extra
 * digests (JSON text), hashed-at ns; when asked for (rowsOfInodes' `artifacts`), 1 when the store records that
 * content as an artifact, else 0. The times are doubles, rounded as a tracer's stats are (see StatAtOpen).
 */
export type RowValues = readonly [number, number, number, number, number, string, string | null, number, number?];

/** A row as numbers. */
export function rowValues(row: HashCacheRow): RowValues {
  return [
    Number(row.dev),
    Number(row.ino),
    Number(row.size),
    Number(row.mtimeNs),
    Number(row.ctimeNs),
    row.blake3,
    JSON.stringify(row.extra),
    Number(row.hashedAtNs),
  ];
}

/** Checks a stored row against the file as it is now (see lookupCached). */
export function isUsableRow(
  row: HashCacheRow | undefined,
  now: FileIdentity,
  algorithms: readonly ExtraAlgorithm[],
  racyWindowNs: bigint = DEFAULT_RACY_WINDOW_NS,
): row is HashCacheRow {
  if (!row) return false;
  if (row.size !== now.size || row.mtimeNs !== now.mtimeNs || row.ctimeNs !== now.ctimeNs) return false;
  if (!isTrustworthy(row, racyWindowNs)) return false;
  for (const alg of algorithms) if (!row.extra[alg]) return false;
  return true;
}

/** The racy-timestamp guard: true when the entry was taken long enough after the file's last change. */
export function isTrustworthy(row: HashCacheRow, racyWindowNs: bigint = DEFAULT_RACY_WINDOW_NS): boolean {
  // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
  const lastChange = row.mtimeNs > row.ctimeNs ? row.mtimeNs : row.ctimeNs;
  return lastChange + racyWindowNs <= row.hashedAtNs;
}

/**
 * The cached digests for a file as it is now, or undefined when the entry is missing, stale (any identity field
 * differs), racy, or lacks one of the requested algorithms.
 */
export function lookupCached(
  store: HashCacheStore,
  now: FileIdentity,
  algorithms: readonly ExtraAlgorithm[],
  racyWindowNs: bigint = DEFAULT_RACY_WINDOW_NS,
): HashCacheRow | undefined {
  const row = store.get(now.dev, now.ino);
  return isUsableRow(row, now, algorithms, racyWindowNs) ? row : undefined;
}

/** An in-memory HashCacheStore, for one process's lifetime (and tests). */
export class MemoryHashCache implements HashCacheStore {
  private readonly rows = new Map<string, HashCacheRow>();

  get(dev: bigint, ino: bigint): HashCacheRow | undefined {
    return this.rows.get(`${dev}:${ino}`);
  }

  put(row: HashCacheRow): void {
    this.rows.set(`${row.dev}:${row.ino}`, { ...row, extra: { ...row.extra } });
  }

  putMany(rows: readonly HashCacheRow[]): void {
    for (const row of rows) this.put(row);
  }

  get size(): number {
    return this.rows.size;
  }
}
