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

/**
 * Many artifacts at once (a job being recorded, inside its transaction): rows of blake3, size, first seen at,
 * first seen path (a pathParam); digest rows of blake3, algorithm, digest. Known artifacts are left as they are.
 */
export function insertArtifactRows(
  q: StoreDb,
  rows: readonly SQLQueryBindings[][],
  digestRows: readonly SQLQueryBindings[][],
): void {
  q.insertMany(
    "INSERT INTO artifacts (blake3, size, first_seen_at, first_seen_path)",
    4,
    "ON CONFLICT(blake3) DO NOTHING",
    rows,
  );
  q.insertMany("INSERT OR IGNORE INTO artifact_digests (blake3, algorithm, digest)", 3, "", digestRows);
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
