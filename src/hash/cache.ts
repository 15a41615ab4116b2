/**
 * The hash cache: a file whose (device, inode, size, mtime, ctime) are unchanged since it was hashed keeps its
 * digests, so re-hashing an unchanged tree costs one stat and one lookup per file.
 *
 * Racy timestamps: a file written again within the filesystem's timestamp granularity of the moment it was
 * hashed can change content without changing mtime/ctime. So an entry is only trusted when the file's newest
 * timestamp is at least `racyWindowNs` older than the moment hashing began; a racy entry is re-hashed (and
 * re-stored, and then trusted once the file has aged).
 */
import type { Database, Statement } from "bun:sqlite";
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
}

/** What the hasher needs from a cache store; the SQLite store below is the real one. */
export interface HashCacheStore {
  get(dev: bigint, ino: bigint): HashCacheRow | undefined;
  put(row: HashCacheRow): void;
  /** Stores many rows at once (one transaction for SQLite). */
  putMany(rows: readonly HashCacheRow[]): void;
  /** Optional bulk lookup (far fewer SQLite round trips); result i belongs to keys[i]. */
  getMany?(keys: readonly { dev: bigint; ino: bigint }[]): (HashCacheRow | undefined)[];
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

/** dev/ino are unsigned 64-bit; SQLite INTEGER is signed, so they are stored as their two's-complement value. */
const toSqlInt = (value: bigint): bigint => BigInt.asIntN(64, value);
const fromSqlUint = (value: bigint): bigint => BigInt.asUintN(64, value);

interface SqlRow {
  ino?: bigint;
  size: bigint;
  mtime_ns: bigint;
  ctime_ns: bigint;
  blake3: string;
  extra: string | null;
  hashed_at_ns: bigint;
}

/** The table the store owns; the lead's schema creates the same one (kept here for tests and standalone use). */
export const HASH_CACHE_DDL = `CREATE TABLE IF NOT EXISTS hash_cache (
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  blake3 TEXT NOT NULL,
  extra TEXT,
  hashed_at_ns INTEGER NOT NULL,
  PRIMARY KEY (dev, ino)
)`;

/** Inodes per bulk lookup statement (SQLite's default limit is 32,766 parameters; smaller batches measured no slower). */
const GET_MANY_BATCH = 250;

function parseExtra(json: string | null): HashCacheRow["extra"] {
  if (!json || json === "{}") return {};
  try {
    return JSON.parse(json) as HashCacheRow["extra"];
  } catch {
    // A damaged extra column only costs the extra digests: they are recomputed on demand.
    return {};
  }
}

/** HashCacheStore on the `hash_cache` table of roar's SQLite database. */
export class SqliteHashCache implements HashCacheStore {
  private readonly getStatement: Statement<SqlRow, [bigint, bigint]>;
  private readonly getManyStatement: Statement<SqlRow, bigint[]>;
  private readonly putStatement: Statement<unknown, [bigint, bigint, bigint, bigint, bigint, string, string, bigint]>;
  private readonly putManyTransaction: (rows: readonly HashCacheRow[]) => void;
  /** On a read-only store the cache is only looked up: new digests are not kept. */
  private readonly readOnly: boolean;

  constructor(db: Database, options: { readOnly?: boolean } = {}) {
    this.readOnly = options.readOnly === true;
    this.getStatement = db
      .query<SqlRow, [bigint, bigint]>(
        "SELECT size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache WHERE dev = ? AND ino = ?",
      )
      .safeIntegers(true);
    this.getManyStatement = db
      .query<SqlRow, bigint[]>(
        `SELECT ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache
         WHERE dev = ? AND ino IN (${new Array(GET_MANY_BATCH).fill("?").join(",")})`,
      )
      .safeIntegers(true);
    this.putStatement = db.query(
      `INSERT OR REPLACE INTO hash_cache (dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.putManyTransaction = db.transaction((rows: readonly HashCacheRow[]) => {
      for (const row of rows) this.put(row);
    });
  }

  static createTable(db: Database): void {
    db.run(HASH_CACHE_DDL);
  }

  get(dev: bigint, ino: bigint): HashCacheRow | undefined {
    const row = this.getStatement.get(toSqlInt(dev), toSqlInt(ino));
    if (!row) return undefined;
    return this.toRow(dev, ino, row);
  }

  getMany(keys: readonly { dev: bigint; ino: bigint }[]): (HashCacheRow | undefined)[] {
    const out: (HashCacheRow | undefined)[] = new Array(keys.length);
    // One statement per device and batch of inodes: `dev = ? AND ino IN (...)` uses the primary key.
    const byDev = new Map<bigint, number[]>();
    keys.forEach((key, i) => {
      const list = byDev.get(key.dev);
      if (list) list.push(i);
      else byDev.set(key.dev, [i]);
    });
    for (const [dev, indexes] of byDev) {
      for (let start = 0; start < indexes.length; start += GET_MANY_BATCH) {
        const batch = indexes.slice(start, start + GET_MANY_BATCH);
        const params: bigint[] = [toSqlInt(dev)];
        for (const i of batch) params.push(toSqlInt(keys[i]?.ino ?? 0n));
        // Padding with a repeated inode keeps one prepared statement for every batch.
        while (params.length <= GET_MANY_BATCH) params.push(params[1] ?? 0n);
        const found = new Map<bigint, SqlRow>();
        for (const row of this.getManyStatement.all(...params)) found.set(row.ino ?? -1n, row);
        for (const i of batch) {
          const key = keys[i];
          if (!key) continue;
          const row = found.get(toSqlInt(key.ino));
          out[i] = row ? this.toRow(key.dev, key.ino, row) : undefined;
        }
      }
    }
    return out;
  }

  private toRow(dev: bigint, ino: bigint, row: SqlRow): HashCacheRow {
    return {
      dev: fromSqlUint(toSqlInt(dev)),
      ino: fromSqlUint(toSqlInt(ino)),
      size: row.size,
      mtimeNs: row.mtime_ns,
      ctimeNs: row.ctime_ns,
      blake3: row.blake3,
      extra: parseExtra(row.extra),
      hashedAtNs: row.hashed_at_ns,
    };
  }

  put(row: HashCacheRow): void {
    if (this.readOnly) return;
    this.putStatement.run(
      toSqlInt(row.dev),
      toSqlInt(row.ino),
      row.size,
      row.mtimeNs,
      row.ctimeNs,
      row.blake3,
      JSON.stringify(row.extra),
      row.hashedAtNs,
    );
  }

  putMany(rows: readonly HashCacheRow[]): void {
    if (rows.length && !this.readOnly) this.putManyTransaction(rows);
  }
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
