/** The `artifacts` table with their other digests (`artifact_digests`), and the small `blobs` kept by digest. */
import type { SQLQueryBindings } from "bun:sqlite";
import type { ArtifactRow } from "../core/types.ts";
import { pathFromRow, pathParam } from "./paths.ts";
import { jsonList, type Row, type StoreDb } from "./statements.ts";

export function upsertArtifact(
  q: StoreDb,
  blake3: string,
  size: number,
  path: string,
  digests?: Record<string, string>,
): void {
  q.sql(
    "INSERT INTO artifacts (blake3, size, first_seen_at, first_seen_path) VALUES (?, ?, ?, ?) ON CONFLICT(blake3) DO NOTHING",
  ).run(blake3, size, Date.now(), pathParam(path));
  for (const [algorithm, digest] of Object.entries(digests ?? {})) {
    if (algorithm === "blake3") continue;
    q.sql("INSERT OR IGNORE INTO artifact_digests (blake3, algorithm, digest) VALUES (?, ?, ?)").run(
      blake3,
      algorithm,
      digest,
    );
  }
}

/** Which of `digests` are recorded artifacts, with the data_version read first (see KnownArtifacts). */
export function knownArtifacts(q: StoreDb, digests: readonly string[]): { version: number; present: string[] } {
  // The version before the lookup: a deletion committed in between changes what insertJob will read.
  const version = q.dataVersion();
  if (digests.length === 0) return { version, present: [] };
  // Most of the table asked about (a big job's first batch): one scan of the digests beats a search each
  // (22,000 artifacts, 20,000 asked: ~6 ms against ~14).
  const bound = (q.sql("SELECT max(rowid) AS n FROM artifacts").get() as { n: number | null }).n ?? 0;
  if (bound <= digests.length * SCAN_PER_DIGEST) {
    const asked = new Set(digests);
    const present: string[] = [];
    for (const [digest] of q.sql("SELECT blake3 FROM artifacts").values() as [string][])
      if (asked.has(digest)) present.push(digest);
    return { version, present };
  }
  // A join, not `IN (SELECT …)`: SQLite then skips building a temporary index of the list (~14 ms against ~26).
  const rows = q
    .sql("SELECT a.blake3 FROM json_each(?) j JOIN artifacts a ON a.blake3 = j.value")
    .values(jsonList(digests)) as [string][];
  return { version, present: rows.map((r) => r[0]) };
}

/** Artifacts scanned rather than searched for, a digest asked about (a search costs ~5 rows of a scan). */
const SCAN_PER_DIGEST = 4;

/** Bits of the row index packed below a digest's prefix (inDigestOrder): more rows than 2^21 go by a comparator. */
const INDEX_BITS = 21;

/**
 * Rows whose first value is a hex digest, about in digest order: by its first 32 bits, the row's index packed below
 * them, sorted as plain numbers (a comparator over 22,000 strings cost ~20 ms; this ~2). Digests are uniform, so
 * the order within a 32-bit prefix does not matter here.
 */
export function inDigestOrder(rows: readonly SQLQueryBindings[][]): readonly SQLQueryBindings[][] {
  if (rows.length < 2) return rows;
  const digest = (row: readonly SQLQueryBindings[]) => row[0] as string;
  if (rows.length >= 2 ** INDEX_BITS) return [...rows].sort((a, b) => (digest(a) < digest(b) ? -1 : 1));
  const keys = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++)
    keys[i] = (Number.parseInt(digest(rows[i] as SQLQueryBindings[]).slice(0, 8), 16) || 0) * 2 ** INDEX_BITS + i;
  keys.sort();
  const out = new Array<SQLQueryBindings[]>(rows.length);
  for (let i = 0; i < keys.length; i++) out[i] = rows[(keys[i] as number) % 2 ** INDEX_BITS] as SQLQueryBindings[];
  return out;
}

/**
 * Many artifacts at once (a job being recorded, inside its transaction): rows of blake3, size, first seen at,
 * first seen path (a pathParam); digest rows of blake3, algorithm, digest. Known artifacts are left as they are.
 */
export function insertArtifactRows(
  q: StoreDb,
  rows: readonly SQLQueryBindings[][],
  digestRows: readonly SQLQueryBindings[][],
): void {
  // In digest order: each row then lands next to the last in the primary key's index, instead of on a random
  // page of it (22,000 new artifacts into a store of 100,000: 120 → 55 ms).
  q.insertMany("INSERT OR FAIL INTO artifacts (blake3, size, first_seen_at, first_seen_path)", inDigestOrder(rows), {
    tuple: "(?, ?, ?, ?)",
    width: 4,
    conflict: "ON CONFLICT(blake3) DO NOTHING",
  });
  q.insertMany("INSERT OR IGNORE INTO artifact_digests (blake3, algorithm, digest)", inDigestOrder(digestRows), {
    tuple: "(?, ?, ?)",
    width: 3,
  });
}

function toArtifacts(q: StoreDb, rows: Row[]): ArtifactRow[] {
  const digests = digestsFor(
    q,
    rows.map((r) => r.blake3 as string),
  );
  return rows.map((r) => ({
    blake3: r.blake3 as string,
    size: r.size as number,
    firstSeenAt: r.first_seen_at as number,
    firstSeenPath: r.first_seen_path === null ? null : pathFromRow(r.first_seen_path),
    digests: digests.get(r.blake3 as string) ?? {},
  }));
}

export function artifact(q: StoreDb, blake3: string): ArtifactRow | undefined {
  const r = q.sql("SELECT * FROM artifacts WHERE blake3 = ?").get(blake3) as Row | null;
  return r ? toArtifacts(q, [r])[0] : undefined;
}

/** Artifacts whose BLAKE3 (or any other recorded digest) starts with `prefix` (at most 50, by digest). */
export function artifactsByPrefix(q: StoreDb, prefix: string): ArtifactRow[] {
  const p = prefix.toLowerCase();
  const rows = q
    .sql(
      `WITH hits AS (SELECT blake3 FROM artifacts WHERE blake3 LIKE ?1 || '%'
                     UNION SELECT blake3 FROM artifact_digests WHERE digest LIKE ?1 || '%' ORDER BY blake3 LIMIT 50)
       SELECT a.* FROM hits JOIN artifacts a ON a.blake3 = hits.blake3 ORDER BY a.blake3`,
    )
    .all(p) as Row[];
  return toArtifacts(q, rows);
}

/** The other digests ({sha256: …}) of each artifact; every asked digest has an entry (one query). */
export function digestsFor(q: StoreDb, blake3s: readonly string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>(blake3s.map((b) => [b, {}]));
  if (out.size === 0) return out;
  const rows = q
    .sql(
      `SELECT blake3, algorithm, digest FROM artifact_digests
       WHERE blake3 IN (SELECT value FROM json_each(?)) ORDER BY blake3, algorithm`,
    )
    .all(jsonList(out.keys())) as { blake3: string; algorithm: string; digest: string }[];
  for (const r of rows) {
    const d = out.get(r.blake3);
    if (d) d[r.algorithm] = r.digest;
  }
  return out;
}

export function putBlob(q: StoreDb, blake3: string, bytes: Uint8Array): void {
  q.sql("INSERT OR IGNORE INTO blobs (blake3, bytes) VALUES (?, ?)").run(blake3, bytes);
}

export function blob(q: StoreDb, blake3: string): Uint8Array | undefined {
  const r = q.sql("SELECT bytes FROM blobs WHERE blake3 = ?").get(blake3) as { bytes: Uint8Array } | null;
  return r?.bytes;
}
