/**
 * Registering lineage: sessions, jobs, artifacts and the links between them. Every call is one transaction and
 * idempotent — registering the same thing twice leaves one record. Ownership (errors.ts) decides who may change
 * what already exists.
 */

import { chunks, placeholders, type SqlDatabase, type SqlExecutor, type SqlValue, valuesList } from "../db/sql.ts";
import type { ArtifactInput, JobInput, LinkInput, SessionInput } from "../payloads.ts";
import { type Actor, mayWrite, notFound, ownershipError } from "./errors.ts";
import { extensionOf, jobFacets } from "./facets.ts";

const now = () => Date.now() / 1000;
/** Rows per multi-row statement: well under PostgreSQL's 65,535 parameters. */
const ROWS = 500;

/** Hex digests are compared lowercased; other digests (S3 ETags) as given. */
export function normalDigest(digest: string): string {
  return /^[0-9a-fA-F]+$/.test(digest) ? digest.toLowerCase() : digest;
}

function metadataText(metadata: unknown): string | null {
  if (metadata === null || metadata === undefined) return null;
  return typeof metadata === "string" ? metadata : JSON.stringify(metadata);
}

export async function registerSession(
  db: SqlDatabase,
  input: SessionInput,
  actor: Actor,
): Promise<{ hash: string; created: boolean }> {
  const hash = input.hash.toLowerCase();
  return db.transaction(async (tx) => {
    const [existing] = await tx.all<{ owner: string }>("SELECT owner FROM sessions WHERE hash = ?", [hash]);
    const t = now();
    if (!existing) {
      const inserted = await tx.run(
        `INSERT INTO sessions (hash, git_repo, git_commit, git_branch, owner, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
        [hash, input.git_repo ?? null, input.git_commit ?? null, input.git_branch ?? null, actor.user, t, t],
      );
      if (inserted > 0) return { hash, created: true };
    }
    const [row] = await tx.all<{ owner: string }>("SELECT owner FROM sessions WHERE hash = ?", [hash]);
    const owner = (row as { owner: string }).owner;
    if (!mayWrite(owner, actor)) throw ownershipError(`session ${hash.slice(0, 12)}`, owner, actor);
    await tx.run(
      `UPDATE sessions SET git_repo = COALESCE(?, git_repo), git_commit = COALESCE(?, git_commit),
       git_branch = COALESCE(?, git_branch), owner = ?, updated_at = ? WHERE hash = ?`,
      [input.git_repo ?? null, input.git_commit ?? null, input.git_branch ?? null, actor.user, t, hash],
    );
    return { hash, created: false };
  });
}

/** The session, checked writable by `actor`. */
async function writableSession(tx: SqlExecutor, sessionHash: string, actor: Actor): Promise<string> {
  const hash = sessionHash.toLowerCase();
  const [row] = await tx.all<{ owner: string }>("SELECT owner FROM sessions WHERE hash = ?", [hash]);
  if (!row) throw notFound(`session ${sessionHash} (register it with POST /api/v1/sessions first)`);
  if (!mayWrite(row.owner, actor)) throw ownershipError(`session ${hash.slice(0, 12)}`, row.owner, actor);
  return hash;
}

const JOB_COLUMNS =
  "session_hash, job_uid, command, timestamp, git_commit, git_branch, duration_seconds, exit_code, job_type, step_number, metadata, parent_job_uid, owner, created_at";
const JOB_UPDATES = [
  "command",
  "timestamp",
  "git_commit",
  "git_branch",
  "duration_seconds",
  "exit_code",
  "job_type",
  "step_number",
  "metadata",
  "parent_job_uid",
  "owner",
]
  .map((c) => `${c} = excluded.${c}`)
  .join(", ");

/** Creates or updates jobs of a session; returns their ids in input order. */
export async function registerJobs(
  db: SqlDatabase,
  sessionHash: string,
  jobs: JobInput[],
  actor: Actor,
): Promise<{ ids: number[]; errors: string[] }> {
  return db.transaction(async (tx) => {
    const session = await writableSession(tx, sessionHash, actor);
    // The last of duplicate uids wins (one statement cannot update a row twice).
    const byUid = new Map<string, JobInput>();
    for (const j of jobs) byUid.set(j.job_uid, j);
    const idOf = new Map<string, number>();
    const t = now();
    const ordered = [...byUid.values()].sort((a, b) => (a.job_uid < b.job_uid ? -1 : 1));
    for (const part of chunks(ordered, ROWS)) {
      const params: SqlValue[] = [];
      for (const j of part)
        params.push(
          session,
          j.job_uid,
          j.command,
          j.timestamp ?? null,
          j.git_commit ?? null,
          j.git_branch ?? null,
          j.duration_seconds ?? null,
          j.exit_code ?? null,
          j.job_type ?? "run",
          j.step_number ?? null,
          metadataText(j.metadata),
          j.parent_job_uid ?? null,
          actor.user,
          t,
        );
      const rows = await tx.all<{ id: number; job_uid: string }>(
        `INSERT INTO jobs (${JOB_COLUMNS}) VALUES ${valuesList(part.length, 14)}
         ON CONFLICT (session_hash, job_uid) DO UPDATE SET ${JOB_UPDATES} RETURNING id, job_uid`,
        params,
      );
      for (const r of rows) idOf.set(r.job_uid, Number(r.id));
      const ids = part.map((j) => idOf.get(j.job_uid) as number);
      await tx.run(`DELETE FROM job_facets WHERE job_id IN (${placeholders(ids.length)})`, ids);
      const facets: SqlValue[][] = part.flatMap((j) => {
        const id = idOf.get(j.job_uid) as number;
        return jobFacets(j.metadata).map((f) => [id, f.facet, f.value]);
      });
      for (const fpart of chunks(facets, ROWS)) {
        await tx.run(
          `INSERT INTO job_facets (job_id, facet, value) VALUES ${valuesList(fpart.length, 3)} ON CONFLICT DO NOTHING`,
          fpart.flat(),
        );
      }
    }
    return { ids: jobs.map((j) => idOf.get(j.job_uid) as number), errors: [] };
  });
}

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

/** Removes a session with its jobs and links (artifacts stay: other sessions may use them). */
export async function deleteSession(db: SqlDatabase, sessionHash: string, actor: Actor): Promise<void> {
  await db.transaction(async (tx) => {
    const hash = sessionHash.toLowerCase();
    const [row] = await tx.all<{ owner: string }>("SELECT owner FROM sessions WHERE hash = ?", [hash]);
    if (!row) throw notFound(`session ${sessionHash}`);
    if (!mayWrite(row.owner, actor)) throw ownershipError(`session ${hash.slice(0, 12)}`, row.owner, actor);
    await tx.run("DELETE FROM sessions WHERE hash = ?", [hash]);
  });
}
