/**
 * Registering lineage: sessions, jobs, artifacts and the links between them. Every call is one transaction and
 * idempotent — registering the same thing twice leaves one record. Ownership (errors.ts) decides who may change
 * what already exists. Sessions and jobs here; artifacts and their links to jobs in write-artifacts.ts.
 */

import { chunks, placeholders, type SqlDatabase, type SqlExecutor, type SqlValue, valuesList } from "../db/sql.ts";
import type { JobInput, SessionInput } from "../payloads.ts";
import { type Actor, mayWrite, notFound, ownershipError } from "./errors.ts";
import { jobFacets } from "./facets.ts";

export const now = (): number => Date.now() / 1000;
/** Rows per multi-row statement: well under PostgreSQL's 65,535 parameters. */
export const ROWS = 500;

/** Hex digests are compared lowercased; other digests (S3 ETags) as given. */
export function normalDigest(digest: string): string {
  return /^[0-9a-fA-F]+$/.test(digest) ? digest.toLowerCase() : digest;
}

export function metadataText(metadata: unknown): string | null {
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
export async function writableSession(tx: SqlExecutor, sessionHash: string, actor: Actor): Promise<string> {
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
