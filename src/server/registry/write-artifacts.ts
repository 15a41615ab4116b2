/**
 * Registering artifacts (by content digest, under every algorithm given) and their links to jobs as inputs or
 * outputs; each call is one idempotent transaction, as in write.ts.
 */

import { chunks, placeholders, type SqlDatabase, type SqlExecutor, type SqlValue, valuesList } from "../db/sql.ts";
import type { ArtifactInput, LinkInput } from "../payloads.ts";
import { type Actor, mayWrite, notFound } from "./errors.ts";
import { extensionOf } from "./facets.ts";
import { metadataText, normalDigest, now, ROWS, writableSession } from "./write.ts";

interface NewArtifact {
  hash: string;
  hashes: { algorithm: string; digest: string }[];
  size: number | null;
  sourceType: string | null;
  metadata: string | null;
  sessionHash: string | null;
  sourceUrl: string | null;
}

function normalArtifact(a: ArtifactInput): NewArtifact {
  const hashes = a.hashes.map((h) => ({ algorithm: h.algorithm.toLowerCase(), digest: normalDigest(h.digest) }));
  const primary = hashes.find((h) => h.algorithm === "blake3") ?? (hashes[0] as { digest: string });
  return {
    hash: primary.digest,
    hashes,
    size: a.size ?? null,
    sourceType: a.source_type ?? null,
    metadata: metadataText(a.metadata),
    sessionHash: a.session_hash ?? null,
    sourceUrl: a.source_url ?? null,
  };
}

/** Artifact ids by digest (any algorithm). */
async function idsByDigest(tx: SqlExecutor, digests: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of chunks([...new Set(digests)], ROWS)) {
    const rows = await tx.all<{ digest: string; artifact_id: number }>(
      `SELECT digest, artifact_id FROM artifact_hashes WHERE digest IN (${placeholders(part.length)})`,
      part,
    );
    for (const r of rows) out.set(r.digest, Number(r.artifact_id));
  }
  return out;
}

/** Inserts artifacts that do not exist yet (by primary hash); returns how many were new. */
async function insertArtifacts(tx: SqlExecutor, items: NewArtifact[], actor: Actor, known: Map<string, number>) {
  const fresh = items.filter((a) => !known.has(a.hash));
  let created = 0;
  const t = now();
  for (const part of chunks(fresh, ROWS)) {
    const rows = await tx.all<{ id: number; hash: string }>(
      `INSERT INTO artifacts (hash, size, source_type, metadata, owner, session_hash, created_at)
       VALUES ${valuesList(part.length, 7)} ON CONFLICT (hash) DO NOTHING RETURNING id, hash`,
      part.flatMap((a) => [a.hash, a.size, a.sourceType, a.metadata, actor.user, a.sessionHash, t]),
    );
    created += rows.length;
    for (const r of rows) known.set(r.hash, Number(r.id));
    if (rows.length < part.length) {
      // Registered meanwhile by a concurrent request.
      const missing = part.filter((a) => !known.has(a.hash)).map((a) => a.hash);
      const found = await tx.all<{ id: number; hash: string }>(
        `SELECT id, hash FROM artifacts WHERE hash IN (${placeholders(missing.length)})`,
        missing,
      );
      for (const r of found) known.set(r.hash, Number(r.id));
    }
  }
  const digests = items.flatMap((a) => a.hashes.map((h) => [h.digest, h.algorithm, known.get(a.hash) as number]));
  for (const part of chunks(digests, ROWS)) {
    await tx.run(
      `INSERT INTO artifact_hashes (digest, algorithm, artifact_id) VALUES ${valuesList(part.length, 3)} ON CONFLICT DO NOTHING`,
      part.flat() as SqlValue[],
    );
  }
  return created;
}

/**
 * Existing artifacts are facts about content: an authenticated registration completes or corrects what an
 * anonymous one said (and takes the record over); nobody changes another user's record.
 */
async function updateExisting(tx: SqlExecutor, items: NewArtifact[], actor: Actor, ids: Map<string, number>) {
  if (items.length === 0) return;
  for (const part of chunks(items, ROWS)) {
    const rows = await tx.all<{ id: number; owner: string; size: number | null; source_type: string | null }>(
      `SELECT id, owner, size, source_type FROM artifacts WHERE id IN (${placeholders(part.length)})`,
      part.map((a) => ids.get(a.hash) as number),
    );
    const current = new Map(rows.map((r) => [Number(r.id), r]));
    for (const a of part) {
      const row = current.get(ids.get(a.hash) as number);
      if (!row || !mayWrite(row.owner, actor)) continue;
      const size = a.size ?? (row.size === null ? null : Number(row.size));
      const sourceType = a.sourceType ?? row.source_type;
      if (
        row.owner === actor.user &&
        size === (row.size === null ? null : Number(row.size)) &&
        sourceType === row.source_type
      )
        continue;
      await tx.run(
        "UPDATE artifacts SET size = ?, source_type = ?, metadata = COALESCE(?, metadata), owner = ? WHERE id = ?",
        [size, sourceType, a.metadata, actor.user, row.id],
      );
    }
  }
}

export async function registerArtifacts(
  db: SqlDatabase,
  input: ArtifactInput[],
  actor: Actor,
): Promise<{ created: number; existing: number; hashes: string[] }> {
  const items = input.map(normalArtifact);
  // Sorted: concurrent batches then take row locks in one order (no deadlock between them).
  const unique = [...new Map(items.map((a) => [a.hash, a])).values()].sort((a, b) => (a.hash < b.hash ? -1 : 1));
  return db.transaction(async (tx) => {
    const byDigest = await idsByDigest(
      tx,
      unique.flatMap((a) => a.hashes.map((h) => h.digest)),
    );
    const known = new Map<string, number>();
    for (const a of unique) {
      const id = a.hashes.map((h) => byDigest.get(h.digest)).find((x) => x !== undefined);
      if (id !== undefined) known.set(a.hash, id);
    }
    const existingItems = unique.filter((a) => known.has(a.hash));
    await updateExisting(tx, existingItems, actor, known);
    const created = await insertArtifacts(tx, unique, actor, known);
    const locations = unique.filter((a) => a.sourceUrl !== null);
    const t = now();
    for (const part of chunks(locations, ROWS)) {
      await tx.run(
        `INSERT INTO artifact_locations (artifact_id, url, source_type, owner, created_at)
         VALUES ${valuesList(part.length, 5)} ON CONFLICT DO NOTHING`,
        part.flatMap((a) => [known.get(a.hash) as number, a.sourceUrl, a.sourceType, actor.user, t]),
      );
    }
    return { created, existing: items.length - created, hashes: items.map((a) => a.hash) };
  });
}

/** Links artifacts (created when unknown) to a job as its inputs or outputs; returns how many were given. */
export async function linkArtifacts(
  db: SqlDatabase,
  sessionHash: string,
  jobUid: string,
  role: "input" | "output",
  links: LinkInput[],
  actor: Actor,
): Promise<number> {
  return db.transaction(async (tx) => {
    const session = await writableSession(tx, sessionHash, actor);
    const [job] = await tx.all<{ id: number }>("SELECT id FROM jobs WHERE session_hash = ? AND job_uid = ?", [
      session,
      jobUid,
    ]);
    if (!job) throw notFound(`job ${jobUid} in session ${sessionHash.slice(0, 12)}`);
    const digests = links.map((l) => normalDigest(l.hash));
    const known = await idsByDigest(tx, digests);
    const unknown = new Map<string, NewArtifact>();
    links.forEach((l, i) => {
      const digest = digests[i] as string;
      if (known.has(digest) || unknown.has(digest)) return;
      const algorithm = /^[0-9a-f]{64}$/.test(digest) ? "blake3" : "unknown";
      unknown.set(digest, {
        hash: digest,
        hashes: [{ algorithm, digest }],
        size: l.size ?? null,
        sourceType: l.source_type ?? null,
        metadata: null,
        sessionHash: session,
        sourceUrl: null,
      });
    });
    await insertArtifacts(
      tx,
      [...unknown.values()].sort((a, b) => (a.hash < b.hash ? -1 : 1)),
      actor,
      known,
    );
    const rows = links.map((l, i) => {
      const path = l.path ?? "";
      return [Number(job.id), role, known.get(digests[i] as string) as number, path, extensionOf(path)];
    });
    const unique = [...new Map(rows.map((r) => [`${r[2]}\0${r[3]}`, r])).values()].sort(
      (a, b) => (a[2] as number) - (b[2] as number) || ((a[3] as string) < (b[3] as string) ? -1 : 1),
    );
    for (const part of chunks(unique, ROWS)) {
      await tx.run(
        `INSERT INTO job_io (job_id, role, artifact_id, path, ext) VALUES ${valuesList(part.length, 5)} ON CONFLICT DO NOTHING`,
        part.flat() as SqlValue[],
      );
    }
    return links.length;
  });
}
