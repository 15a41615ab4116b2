/** The hash cache: hits, misses, the racy-timestamp guard, invalidation, and the SQLite store. */
import { Database } from "bun:sqlite";
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cachedAtOpen,
  close,
  DEFAULT_RACY_WINDOW_NS,
  type FileDigest,
  type FileHashError,
  type HashCacheRow,
  type HashCacheStore,
  hashFiles,
  isTrustworthy,
  MemoryHashCache,
  type StatAtOpen,
} from "../../src/hash/index.ts";
import { SqliteHashCache } from "../../src/store/hash-cache.ts";
import { toolDigests } from "../fixtures/hash/reference.ts";
import { tempDir } from "../helpers/cli.ts";

afterAll(() => close());

/**
 * A cache whose entries are stored as if hashing had begun `ageNs` later than it did: the files have aged past
 * the racy window without the test sleeping (the racy-timestamp rule itself is unchanged). Twice the window, so
 * that the clocks of Date.now() (ms) and file timestamps (the kernel's coarse clock) need not agree.
 */
function aged<T extends HashCacheStore>(store: T, ageNs: bigint = 2n * DEFAULT_RACY_WINDOW_NS): T {
  const later = (row: HashCacheRow) => ({ ...row, hashedAtNs: row.hashedAtNs + ageNs });
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === "put") return (row: HashCacheRow) => target.put(later(row));
      if (key === "putMany") return (rows: readonly HashCacheRow[]) => target.putMany(rows.map(later));
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function freshDb(): { db: Database; cache: SqliteHashCache } {
  const db = new Database(":memory:");
  SqliteHashCache.createTable(db);
  return { db, cache: new SqliteHashCache(db) };
}

function digestOf(result: FileDigest | FileHashError | undefined): FileDigest {
  if (!result || "error" in result) throw new Error(`expected a digest, got ${JSON.stringify(result)}`);
  return result;
}

/** BLAKE3 by b3sum, or by the suite's reference implementation without it. */
function referenceBlake3(path: string): string {
  return toolDigests("b3sum", [path]).get(path) ?? "(no digest)";
}

let dir: string;
beforeEach(() => {
  dir = tempDir("roar-hash-cache-");
});

describe("racy-timestamp guard", () => {
  const row = (mtimeNs: bigint, ctimeNs: bigint, hashedAtNs: bigint): HashCacheRow => ({
    dev: 1n,
    ino: 2n,
    size: 3n,
    mtimeNs,
    ctimeNs,
    blake3: "x",
    extra: {},
    hashedAtNs,
  });
  const second = 1_000_000_000n;
  const t = 1_700_000_000n * second;

  test("defaults to one second", () => {
    expect(DEFAULT_RACY_WINDOW_NS).toBe(second);
  });
  test("an entry hashed within the window of the last change is not trusted", () => {
    expect(isTrustworthy(row(t, t, t))).toBe(false);
    expect(isTrustworthy(row(t, t, t + second - 1n))).toBe(false);
    expect(isTrustworthy(row(t, t, t + second))).toBe(true);
  });
  test("ctime counts as a change too (content rewritten, then mtime restored)", () => {
    expect(isTrustworthy(row(t - 10n * second, t, t + second / 2n))).toBe(false);
  });
});

describe.each(["sqlite", "memory"] as const)("cache behaviour (%s store)", (storeKind) => {
  const makeStore = () => (storeKind === "sqlite" ? freshDb().cache : new MemoryHashCache());

  test("miss, then hit once the entry is old enough; digests match b3sum", async () => {
    const cache = aged(makeStore());
    const path = join(dir, "a.txt");
    writeFileSync(path, "hello cache\n");
    const first = digestOf((await hashFiles([path], { cache })).get(path));
    expect(first.cached).toBe(false);
    const second = digestOf((await hashFiles([path], { cache })).get(path));
    expect(second.cached).toBe(true);
    expect(second.blake3).toBe(first.blake3);
    expect(second.size).toBe(12);
    expect(second.blake3).toBe(referenceBlake3(path));
  });

  test("racy entry: a file hashed right after it was written is hashed again next time", async () => {
    const cache = makeStore();
    const path = join(dir, "racy.txt");
    writeFileSync(path, "v1");
    expect(digestOf((await hashFiles([path], { cache })).get(path)).cached).toBe(false);
    // Within the 1 s window of its mtime: never trusted (the SQLite store does not even keep it, see below).
    const st = statSync(path, { bigint: true });
    const row = cache.get(st.dev, st.ino);
    if (storeKind === "memory") expect(isTrustworthy(row as HashCacheRow)).toBe(false);
    else expect(row).toBeUndefined();
    expect(digestOf((await hashFiles([path], { cache })).get(path)).cached).toBe(false);
  });

  test("racy entry then same-size rewrite within the window: the new content is seen", async () => {
    const cache = makeStore();
    const path = join(dir, "rewrite.txt");
    writeFileSync(path, "AAAA");
    const first = digestOf((await hashFiles([path], { cache })).get(path));
    const before = statSync(path, { bigint: true });
    writeFileSync(path, "BBBB");
    // Simulate a coarse-timestamp filesystem: the rewrite leaves mtime as it was (ctime moves, as it must).
    utimesSync(path, before.atime, before.mtime);
    const second = digestOf((await hashFiles([path], { cache })).get(path));
    expect(second.cached).toBe(false);
    expect(second.blake3).not.toBe(first.blake3);
    expect(second.blake3).toBe(referenceBlake3(path));
  });

  test("invalidation: modified content (same size, old mtime restored) and changed size both miss", async () => {
    const cache = aged(makeStore());
    const path = join(dir, "mod.txt");
    writeFileSync(path, "original");
    const old = new Date(Date.now() - 3600_000);
    utimesSync(path, old, old);
    await hashFiles([path], { cache });
    expect(digestOf((await hashFiles([path], { cache })).get(path)).cached).toBe(true);

    writeFileSync(path, "modified");
    utimesSync(path, old, old);
    const afterSameSize = digestOf((await hashFiles([path], { cache })).get(path));
    expect(afterSameSize.cached).toBe(false);
    expect(afterSameSize.blake3).toBe(referenceBlake3(path));
    expect(digestOf((await hashFiles([path], { cache })).get(path)).cached).toBe(true);

    writeFileSync(path, "modified and longer");
    const afterResize = digestOf((await hashFiles([path], { cache })).get(path));
    expect(afterResize.cached).toBe(false);
    expect(afterResize.size).toBe(19);
  });

  test("replaced file (new inode) misses", async () => {
    const cache = aged(makeStore());
    const path = join(dir, "replaced.txt");
    writeFileSync(path, "one");
    await hashFiles([path], { cache });
    unlinkSync(path);
    writeFileSync(join(dir, "spacer"), "keeps the old inode number from being reused at once");
    writeFileSync(path, "two");
    const result = digestOf((await hashFiles([path], { cache })).get(path));
    expect(result.cached).toBe(false);
  });

  test("extra algorithms: a hit needs every requested digest; later runs add to the entry", async () => {
    const cache = aged(makeStore());
    const path = join(dir, "extra.txt");
    writeFileSync(path, "abc");
    await hashFiles([path], { cache });
    const withSha = digestOf((await hashFiles([path], { cache, algorithms: ["sha256"] })).get(path));
    expect(withSha.cached).toBe(false);
    expect(withSha.digests.sha256).toBe(toolDigests("sha256sum", [path]).get(path) ?? "");
    await hashFiles([path], { cache, algorithms: ["md5"] });
    const both = digestOf((await hashFiles([path], { cache, algorithms: ["sha256", "md5"] })).get(path));
    expect(both.cached).toBe(true);
    expect(both.digests).toEqual({
      sha256: toolDigests("sha256sum", [path]).get(path) ?? "",
      md5: toolDigests("md5sum", [path]).get(path) ?? "",
    });
  });

  test("vanished file: an error entry, not a throw", async () => {
    const cache = makeStore();
    const path = join(dir, "gone.txt");
    const results = await hashFiles([path], { cache });
    expect(results.get(path)).toMatchObject({ code: "ENOENT" });
  });
});

describe("SqliteHashCache", () => {
  test("round-trips 64-bit device and inode numbers and nanosecond timestamps", () => {
    const { db, cache } = freshDb();
    const row: HashCacheRow = {
      dev: 0xffff_ffff_ffff_fff0n,
      ino: (1n << 63n) + 5n,
      size: 5_000_000_000n,
      mtimeNs: 1_712_345_678_123_456_789n,
      ctimeNs: 1_712_345_678_987_654_321n,
      blake3: "ab".repeat(32),
      extra: { sha256: "cd".repeat(32) },
      hashedAtNs: 1_712_345_699_000_000_001n,
    };
    cache.put(row);
    expect(cache.get(row.dev, row.ino)).toEqual(row);
    expect(cache.get(row.dev, row.ino + 1n)).toBeUndefined();
    cache.putMany([{ ...row, blake3: "ef".repeat(32) }]);
    expect(cache.get(row.dev, row.ino)?.blake3).toBe("ef".repeat(32));
    const raw = db.query("SELECT extra FROM hash_cache").get() as { extra: string };
    expect(JSON.parse(raw.extra)).toEqual({ sha256: "cd".repeat(32) });
  });

  test("getMany finds the same rows by primary-key search (few keys) and by a scan (most of the table)", () => {
    const { cache } = freshDb();
    const rowOf = (dev: bigint, ino: bigint): HashCacheRow => ({
      dev,
      ino,
      size: ino - (1n << 63n),
      mtimeNs: 1_000_000_000n,
      ctimeNs: 1_000_000_000n,
      blake3: `${dev}:${ino}`,
      extra: ino % 2n ? { sha256: "ab" } : {},
      hashedAtNs: 9_000_000_000n,
    });
    const rows: HashCacheRow[] = [];
    for (let i = 0n; i < 1500n; i++) rows.push(rowOf(i % 3n === 0n ? 0xffff_ffff_ffff_fff0n : 7n, (1n << 63n) + i));
    cache.putMany(rows);
    const expected = (key: { dev: bigint; ino: bigint }) => {
      const i = key.ino - (1n << 63n);
      return i >= 0n && i < 1500n && (key.dev === 7n) === (i % 3n !== 0n) ? rowOf(key.dev, key.ino) : undefined;
    };
    // 1,200 keys of 1,500 rows (a scan), with a repeated key and keys that are not there.
    const many = rows.slice(0, 1197).map(({ dev, ino }) => ({ dev, ino }));
    many.push(many[5] as { dev: bigint; ino: bigint }, { dev: 7n, ino: 3n }, { dev: 8n, ino: (1n << 63n) + 1n });
    expect(cache.getMany(many)).toEqual(many.map(expected));
    // Ten keys (searches).
    const few = many.slice(-10);
    expect(cache.getMany(few)).toEqual(few.map(expected));
  });

  test("stores one row per (dev, ino) for hashed files", async () => {
    const { db, cache } = freshDb();
    const paths = ["a", "b", "c"].map((name) => join(dir, name));
    for (const path of paths) writeFileSync(path, path);
    // Files written long enough ago to be trusted (files just written are racy and not kept: see below).
    const old = new Date(Date.now() - 60_000);
    for (const path of paths) utimesSync(path, old, old);
    const stored = () => (db.query("SELECT count(*) AS n FROM hash_cache").get() as { n: number }).n;
    await hashFiles(paths, { cache });
    // ctime moved with utimes: still racy by ctime, so none is kept yet.
    expect(stored()).toBe(0);
    await hashFiles(paths, { cache: aged(cache) });
    expect(stored()).toBe(3);
  });
});

describe("SQLite store: racy rows", () => {
  const racy = (blake3: string, hashedAtNs: bigint): HashCacheRow => ({
    dev: 7n,
    ino: 9n,
    size: 4n,
    mtimeNs: 5_000_000_000n,
    ctimeNs: 5_000_000_000n,
    blake3,
    extra: {},
    hashedAtNs,
  });
  test("a racy row is not inserted (it could never be trusted), but it replaces an older row of its inode", () => {
    const { cache } = freshDb();
    cache.putMany([racy("new", 5_100_000_000n)]);
    expect(cache.get(7n, 9n)).toBeUndefined();
    // An older, trusted row of the same inode (a previous content) must not outlive the new content.
    cache.putMany([{ ...racy("old", 9_000_000_000n), mtimeNs: 1_000_000_000n, ctimeNs: 1_000_000_000n }]);
    expect(cache.get(7n, 9n)?.blake3).toBe("old");
    cache.putMany([racy("new", 5_100_000_000n)]);
    const row = cache.get(7n, 9n);
    expect(row?.blake3).toBe("new");
    expect(isTrustworthy(row as HashCacheRow)).toBe(false);
    // One its hashing found no row for (a file the job created) is not written at all, beside one that is.
    const trusted = { ...racy("trusted", 9_000_000_000n), ino: 10n, mtimeNs: 1_000_000_000n, ctimeNs: 1_000_000_000n };
    cache.putMany([{ ...racy("created", 5_100_000_000n), replacing: false }, trusted]);
    expect(cache.get(7n, 9n)?.blake3).toBe("new");
    expect(cache.get(7n, 10n)?.blake3).toBe("trusted");
  });
});

describe("vouching for files as a tracer saw them opened (no stat)", () => {
  const second = 1_000_000_000n;
  const t = 1_712_345_678_123_456_789n;
  const row = (ino: bigint, fields: Partial<HashCacheRow> = {}): HashCacheRow => ({
    dev: 2049n,
    ino,
    size: 10n,
    mtimeNs: t,
    ctimeNs: t,
    blake3: `b3-${ino}`,
    extra: {},
    hashedAtNs: t + 2n * second,
    ...fields,
  });
  const seen = (ino: number, fields: Partial<StatAtOpen> = {}): { path: string; stat: StatAtOpen } => ({
    path: `/p/f${ino}`,
    stat: { dev: 2049, ino, size: 10, mtimeNs: Number(t), ctimeNs: Number(t), ...fields },
  });

  test("same inode, size and times (as numbers) and a trustworthy row: vouched; anything else: not", () => {
    const { cache } = freshDb();
    cache.putMany([
      row(1n),
      row(2n),
      row(3n, { hashedAtNs: t + second - 1n }), // racy: hashed within the window of its last change
      row(4n, { ctimeNs: t + 5n * second, hashedAtNs: t + 7n * second }),
      row(5n, { extra: { sha256: "s" } }),
      row((1n << 60n) + 1n),
    ]);
    const files = [
      seen(1),
      seen(2, { size: 11 }),
      seen(3),
      seen(4), // ctime differs from the row's
      seen(5),
      seen(6), // no row
      seen(2 ** 60 + 1), // not exact as a number: never looked up
      { path: "/p/moved", stat: { ...seen(1).stat, mtimeNs: Number(t) + 2048 } },
    ];
    // The store's own lookup as numbers, and the generic one through getMany (a store without rowsOfInodes).
    const generic: HashCacheStore = {
      get: (dev, ino) => cache.get(dev, ino),
      getMany: (keys) => cache.getMany(keys),
      put: () => {},
      putMany: () => {},
    };
    for (const store of [cache, generic]) {
      const vouched = cachedAtOpen(files, { cache: store });
      expect([...vouched.keys()]).toEqual(["/p/f1", "/p/f5"]);
      expect(vouched.get("/p/f1")).toEqual({ blake3: "b3-1", size: 10, digests: {}, cached: true });
      const withSha = cachedAtOpen(files, { cache: store, algorithms: ["sha256"] });
      expect([...withSha.keys()]).toEqual(["/p/f5"]);
      expect(withSha.get("/p/f5")?.digests).toEqual({ sha256: "s" });
    }
  });

  test("rows as numbers by inode: a dense run read as one range, scattered inodes by list, each key its row", () => {
    const { cache } = freshDb();
    // A dense run (every other inode of 1000..1198), scattered ones, and inodes no number holds exactly.
    const dense = Array.from({ length: 100 }, (_, i) => 1000 + 2 * i);
    const scattered = [7, 50_000, 9_000_000];
    cache.putMany([...dense, ...scattered].map((ino) => row(BigInt(ino))));
    cache.putMany([row((1n << 63n) + 7n), row(1n << 54n), { ...row(1001n), dev: 77n }]);
    const keys = [
      ...dense.map((ino) => ({ dev: 2049, ino })),
      ...scattered.map((ino) => ({ dev: 2049, ino })),
      { dev: 2049, ino: 1001 }, // inside the run's range, no row on this device
      { dev: 77, ino: 1001 },
      { dev: 2049, ino: 1000 }, // asked twice
      { dev: 2049, ino: 8 },
    ];
    const rows = cache.rowsOfInodes(keys);
    expect(rows).toHaveLength(keys.length);
    keys.forEach((key, i) => {
      const found = rows[i];
      const noRow = key.ino === 8 || (key.ino === 1001 && key.dev === 2049);
      if (noRow) expect(found).toBeUndefined();
      else
        expect(found).toEqual([
          key.dev,
          key.ino,
          10,
          Number(t),
          Number(t),
          `b3-${key.ino}`,
          "{}",
          Number(t + 2n * second),
        ]);
    });
  });
});
