/** The hash cache (hash/cache.ts) kept in the `hash_cache` table of roar's SQLite database. */
import type { Database, SQLQueryBindings, Statement } from "bun:sqlite";
import { type HashCacheRow, type HashCacheStore, isTrustworthy, type RowValues } from "../hash/cache.ts";
import { HASH_CACHE_DDL } from "./schema.ts";

/** dev/ino are unsigned 64-bit; SQLite INTEGER is signed, so they are stored as their two's-complement value. */
const INT64_LIMIT = 1n << 63n;
// The comparison first: BigInt.asIntN allocates, and nearly every real dev/ino is below 2^63.
const toSqlInt = (value: bigint): bigint => (value < INT64_LIMIT ? value : BigInt.asIntN(64, value));

interface SqlRow {
  ino?: bigint;
  size: bigint;
  mtime_ns: bigint;
  ctime_ns: bigint;
  blake3: string;
  extra: string | null;
  hashed_at_ns: bigint;
}

/** getMany's columns: ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns. */
type SqlValues = [bigint, bigint, bigint, bigint, string, string | null, bigint];

/** Inodes per bulk lookup statement (SQLite's default limit is 32,766 parameters; smaller batches measured no slower). */
const GET_MANY_BATCH = 250;
/** The placeholders of one such batch of inodes. */
const INODE_LIST = `(${new Array(GET_MANY_BATCH).fill("?").join(",")})`;

/**
 * getMany reads the whole table instead when asked for at least this share of its rows: a scan costs ~0.6 µs a
 * row, a primary-key search ~1.7 µs (a job re-reading its 20,000 inputs: 13 ms instead of 38).
 */
const SCAN_SHARE = 0.35;

/** rowsOfInodes: a range read holds at most this many inodes for each one asked, and at least this many asked. */
const RANGE_SLACK = 4;
const RANGE_MIN_FILES = 16;

function parseExtra(json: string | null): HashCacheRow["extra"] {
  if (!json || json === "{}") return {};
  try {
    return JSON.parse(json) as HashCacheRow["extra"];
  } catch {
    // A damaged extra column only costs the extra digests: they are recomputed on demand.
    return {};
  }
}

/** putStatement's parameters, in the table's column order. */
type PutParams = [bigint, bigint, bigint, bigint, bigint, string, string, bigint];

function paramsOf(row: HashCacheRow): PutParams {
  return [
    toSqlInt(row.dev),
    toSqlInt(row.ino),
    row.size,
    row.mtimeNs,
    row.ctimeNs,
    row.blake3,
    // Most rows have no extra digests: no JSON.stringify for them.
    Object.keys(row.extra).length === 0 ? "{}" : JSON.stringify(row.extra),
    row.hashedAtNs,
  ];
}

/** The columns the numbers lookups read (rowsOfInodes). */
const NUMBERS = "SELECT dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache";
/** NUMBERS, and whether each row's content is an artifact of the store (a search of its primary key a row). */
const NUMBERS_AND_ARTIFACT = `SELECT dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns,
  EXISTS (SELECT 1 FROM artifacts a WHERE a.blake3 = hash_cache.blake3) FROM hash_cache`;

/** Rows of one multi-row INSERT in putMany. */
const PUT_ROWS = 32;

/** HashCacheStore on the `hash_cache` table of roar's SQLite database. */
export class SqliteHashCache implements HashCacheStore {
  /** On a read-only store the cache is only looked up: new digests are not kept. */
  private readonly readOnly: boolean;
  /** Statements prepared on first use: a run that hashes nothing prepares none (~2 ms of `roar run`). */
  private readonly prepared = new Map<string, unknown>();

  constructor(
    private readonly db: Database,
    options: { readOnly?: boolean } = {},
  ) {
    this.readOnly = options.readOnly === true;
  }

  /**
   * Statements made with prepare (not query, whose statements the database finalizes when it closes): finalized by
   * close, or the database's close would wait for the garbage collector (sqlite3_close_v2) and its last
   * checkpoint would run as the process exits.
   */
  private readonly own: Statement[] = [];

  private prepare<R, P extends SQLQueryBindings[]>(sql: string): Statement<R, P> {
    const statement = this.db.prepare<R, P>(sql) as unknown as Statement<R, P>;
    this.own.push(statement as unknown as Statement);
    return statement;
  }

  /** Finalizes the statements it prepared (before the database closes). */
  close(): void {
    for (const statement of this.own.splice(0)) statement.finalize();
    this.prepared.clear();
  }

  private once<T>(name: string, make: () => T): T {
    let made = this.prepared.get(name) as T | undefined;
    if (made === undefined) {
      made = make();
      this.prepared.set(name, made);
    }
    return made;
  }

  private get getStatement(): Statement<SqlRow, [bigint, bigint]> {
    return this.once("get", () =>
      this.db
        .query<SqlRow, [bigint, bigint]>(
          "SELECT size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache WHERE dev = ? AND ino = ?",
        )
        .safeIntegers(true),
    );
  }

  private get getManyStatement(): Statement<SqlRow, bigint[]> {
    return this.once("getMany", () =>
      this.db
        .query<SqlRow, bigint[]>(
          `SELECT ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache
           WHERE dev = ? AND ino IN ${INODE_LIST}`,
        )
        .safeIntegers(true),
    );
  }

  private get scanStatement(): Statement<SqlRow, []> {
    return this.once("scan", () =>
      this.db
        .query<SqlRow, []>("SELECT dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns FROM hash_cache")
        .safeIntegers(true),
    );
  }

  // prepare, not query: query() shares one statement per SQL text, and these read numbers, not BigInts.
  private rangeStatement(artifacts: boolean): Statement<SqlRow, [number, number, number]> {
    const columns = artifacts ? NUMBERS_AND_ARTIFACT : NUMBERS;
    return this.once(artifacts ? "range+artifact" : "range", () =>
      this.prepare(`${columns} WHERE dev = ? AND ino BETWEEN ? AND ?`),
    );
  }

  private listStatement(artifacts: boolean): Statement<SqlRow, number[]> {
    const columns = artifacts ? NUMBERS_AND_ARTIFACT : NUMBERS;
    return this.once(artifacts ? "list+artifact" : "list", () =>
      this.prepare(`${columns} WHERE dev = ? AND ino IN ${INODE_LIST}`),
    );
  }

  /** The largest rowid, found in one search, bounds the row count (a replaced row takes a new rowid: over-counts). */
  private get sizeStatement(): Statement<{ n: bigint | null }, []> {
    return this.once("size", () =>
      this.db.query<{ n: bigint | null }, []>("SELECT max(rowid) AS n FROM hash_cache").safeIntegers(true),
    );
  }

  private get putStatement(): Statement<unknown, PutParams> {
    return this.once("put", () =>
      this.db.query<unknown, PutParams>(
        `INSERT OR REPLACE INTO hash_cache (dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    );
  }

  /** The same parameters as putStatement's, in the same order. */
  private get replaceStatement(): Statement<unknown, PutParams> {
    return this.once("replace", () =>
      this.db.query<unknown, PutParams>(
        `UPDATE hash_cache SET size = ?3, mtime_ns = ?4, ctime_ns = ?5, blake3 = ?6, extra = ?7, hashed_at_ns = ?8
         WHERE dev = ?1 AND ino = ?2`,
      ),
    );
  }

  private get putManyTransaction(): (rows: readonly HashCacheRow[]) => void {
    return this.once("putMany", () => {
      // PUT_ROWS rows a statement: bun:sqlite's cost per call is about that of writing a row (20,000 new rows:
      // ~60 → ~40 ms).
      const manyRows = this.prepare(
        `INSERT OR REPLACE INTO hash_cache (dev, ino, size, mtime_ns, ctime_ns, blake3, extra, hashed_at_ns)
         VALUES ${new Array(PUT_ROWS).fill("(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
      );
      return this.db.transaction((rows: readonly HashCacheRow[]) => {
        const params: (bigint | string)[] = [];
        for (const row of rows) {
          if (!isTrustworthy(row)) this.put(row);
          else if (params.push(...paramsOf(row)) === PUT_ROWS * 8) manyRows.run(...params.splice(0));
        }
        for (let i = 0; i < params.length; i += 8) this.putStatement.run(...(params.slice(i, i + 8) as PutParams));
      });
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
    if (keys.length >= 1000 && keys.length >= Number(this.sizeStatement.get()?.n ?? 0) * SCAN_SHARE) {
      this.getManyByScan(keys, out);
      return out;
    }
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
        // Rows as arrays, matched by inode (the hot path of recording a big job: tens of thousands of files).
        const found = new Map<bigint, SqlValues>();
        for (const row of this.getManyStatement.values(...params) as SqlValues[]) found.set(row[0], row);
        for (const i of batch) {
          const key = keys[i];
          if (!key) continue;
          const row = found.get(toSqlInt(key.ino));
          out[i] = row
            ? {
                dev: key.dev,
                ino: key.ino,
                size: row[1],
                mtimeNs: row[2],
                ctimeNs: row[3],
                blake3: row[4],
                extra: parseExtra(row[5]),
                hashedAtNs: row[6],
              }
            : undefined;
        }
      }
    }
    return out;
  }

  /**
   * The rows of these files as numbers (result i belongs to keys[i]; every dev and inode a safe integer). Files
   * made together have neighbouring inodes: a dense run of the inodes asked for is read as one range of the
   * primary key (~0.7 µs a row), the rest in lists; no BigInt and no object a row (~7 µs a file by getMany).
   * With `artifacts`, each row also says whether the store holds its content as an artifact (RowValues[8]): in
   * the same statement, a search a row, instead of a second lookup of the digests (about half the time).
   */
  rowsOfInodes(
    keys: readonly { dev: number; ino: number }[],
    options?: { artifacts?: boolean },
  ): (RowValues | undefined)[] {
    const artifacts = options?.artifacts === true;
    const range = this.rangeStatement(artifacts);
    const list = this.listStatement(artifacts);
    const byDev = new Map<number, number[]>();
    for (const { dev, ino } of keys) {
      const inodes = byDev.get(dev);
      if (inodes) inodes.push(ino);
      else byDev.set(dev, [ino]);
    }
    const found = new Map<number, Map<number, RowValues>>();
    for (const [dev, asked] of byDev) {
      const rows = new Map<number, RowValues>();
      found.set(dev, rows);
      const take = (values: unknown) => {
        for (const r of values as RowValues[]) rows.set(r[1], r);
      };
      const inodes = [...new Set(asked)].sort((a, b) => a - b);
      const scattered: number[] = [];
      for (let i = 0; i < inodes.length; ) {
        // A run: the longest from inode i whose range holds at most RANGE_SLACK inodes for each one asked.
        const first = inodes[i] as number;
        let j = i;
        while (j + 1 < inodes.length && (inodes[j + 1] as number) - first < (j + 2 - i) * RANGE_SLACK) j++;
        if (j - i + 1 >= RANGE_MIN_FILES) take(range.values(dev, first, inodes[j] as number));
        else for (let k = i; k <= j; k++) scattered.push(inodes[k] as number);
        i = j + 1;
      }
      for (let start = 0; start < scattered.length; start += GET_MANY_BATCH) {
        const params = [dev, ...scattered.slice(start, start + GET_MANY_BATCH)];
        // Padding with a repeated inode keeps one prepared statement for every list.
        while (params.length <= GET_MANY_BATCH) params.push(params[1] as number);
        take(list.values(...params));
      }
    }
    return keys.map(({ dev, ino }) => found.get(dev)?.get(ino));
  }

  /** getMany by one pass over the table: rows by device, then inode. */
  private getManyByScan(keys: readonly { dev: bigint; ino: bigint }[], out: (HashCacheRow | undefined)[]): void {
    const wanted = new Map<bigint, Map<bigint, number>>();
    keys.forEach((key, i) => {
      const dev = toSqlInt(key.dev);
      let inodes = wanted.get(dev);
      if (!inodes) {
        inodes = new Map();
        wanted.set(dev, inodes);
      }
      inodes.set(toSqlInt(key.ino), i);
    });
    for (const row of this.scanStatement.values() as [bigint, ...SqlValues][]) {
      const i = wanted.get(row[0])?.get(row[1]);
      if (i === undefined) continue;
      const key = keys[i] as { dev: bigint; ino: bigint };
      out[i] = {
        dev: key.dev,
        ino: key.ino,
        size: row[2],
        mtimeNs: row[3],
        ctimeNs: row[4],
        blake3: row[5],
        extra: parseExtra(row[6]),
        hashedAtNs: row[7],
      };
    }
    // A key asked twice gets its row at each place.
    keys.forEach((key, i) => {
      if (out[i] !== undefined) return;
      const filled = wanted.get(toSqlInt(key.dev))?.get(toSqlInt(key.ino));
      if (filled !== undefined && filled !== i) out[i] = out[filled];
    });
  }

  /** The row of the file (dev, ino) as the caller named it (unsigned). */
  private toRow(dev: bigint, ino: bigint, row: SqlRow): HashCacheRow {
    return {
      dev: dev < 0n ? BigInt.asUintN(64, dev) : dev,
      ino: ino < 0n ? BigInt.asUintN(64, ino) : ino,
      size: row.size,
      mtimeNs: row.mtime_ns,
      ctimeNs: row.ctime_ns,
      blake3: row.blake3,
      extra: parseExtra(row.extra),
      hashedAtNs: row.hashed_at_ns,
    };
  }

  /**
   * Keeps a row. A racy one (the file changed within the racy window before it was hashed, as every output a job
   * just wrote did) is never trusted by lookups, so it only replaces an older row of the same inode (none when
   * the lookup found none: `replacing` false): inserting it would cost a write for nothing.
   */
  put(row: HashCacheRow): void {
    if (this.readOnly) return;
    const params = paramsOf(row);
    if (isTrustworthy(row)) this.putStatement.run(...params);
    else if (row.replacing !== false) this.replaceStatement.run(...params);
  }

  putMany(rows: readonly HashCacheRow[]): void {
    if (rows.length === 0 || this.readOnly) return;
    // A racy row that replaces nothing is not written (see put): the files a job just created, thousands of them,
    // cost no transaction and no parameters.
    const written = rows.filter((row) => row.replacing !== false || isTrustworthy(row));
    if (written.length) this.putManyTransaction(written);
  }
}
