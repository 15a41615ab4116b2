/** Looking things up: artifacts by digest prefix, sessions, jobs, and an artifact's upstream lineage. */
import { num, placeholders, type SqlExecutor } from "../db/sql.ts";
import { notFound, RegistryError } from "./errors.ts";
import {
  ARTIFACT_FIELDS,
  type ArtifactJson,
  artifactJson,
  isoTime,
  JOB_FIELDS,
  type JobJson,
  type JobWithIo,
  jobJson,
  withIo,
} from "./views.ts";

export const MIN_PREFIX = 8;

/** Every continuation of a lowercase hex prefix sorts in [prefix, prefix + "g"). */
export const prefixRange = (prefix: string): [string, string] => [prefix, `${prefix}g`];

/** The one artifact a digest prefix names: 400 when too short, 404 when none, 409 with candidates when several. */
export async function resolveArtifact(db: SqlExecutor, rawPrefix: string): Promise<ArtifactJson> {
  const prefix = rawPrefix.toLowerCase();
  if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_PREFIX)
    throw new RegistryError(
      400,
      "bad_prefix",
      `hash prefix must be at least ${MIN_PREFIX} hexadecimal characters: '${rawPrefix.slice(0, 80)}'`,
    );
  const ids = await db.all<{ artifact_id: number }>(
    "SELECT DISTINCT artifact_id FROM artifact_hashes WHERE digest >= ? AND digest < ? LIMIT 21",
    prefixRange(prefix),
  );
  if (ids.length === 0) throw notFound(`artifact ${prefix}`);
  const rows = await db.all(
    `SELECT ${ARTIFACT_FIELDS} FROM artifacts a WHERE a.id IN (${placeholders(ids.length)}) ORDER BY a.hash`,
    ids.map((r) => num(r.artifact_id)),
  );
  if (rows.length > 1) {
    const candidates = rows.map((r) => r.hash as string);
    throw new RegistryError(
      409,
      "ambiguous_prefix",
      `hash prefix ${prefix} matches ${ids.length > 20 ? "more than 20" : ids.length} artifacts; give more characters`,
      { candidates: candidates.slice(0, 20) },
    );
  }
  return artifactJson(rows[0] as Record<string, unknown>);
}

export interface JobRef {
  session_hash: string;
  job_uid: string;
  command: string;
  step_number: number | null;
  timestamp: number | null;
  job_type: string;
  path: string;
  user: string;
}

async function jobRefs(db: SqlExecutor, artifactId: number, role: "input" | "output"): Promise<JobRef[]> {
  const rows = await db.all(
    `SELECT j.session_hash, j.job_uid, j.command, j.step_number, j.timestamp, j.job_type, j.owner, io.path
     FROM job_io io JOIN jobs j ON j.id = io.job_id WHERE io.artifact_id = ? AND io.role = ?
     ORDER BY j.timestamp DESC, j.id DESC LIMIT 200`,
    [artifactId, role],
  );
  return rows.map((r) => ({
    session_hash: r.session_hash as string,
    job_uid: r.job_uid as string,
    command: r.command as string,
    step_number: num(r.step_number),
    timestamp: num(r.timestamp),
    job_type: r.job_type as string,
    path: r.path as string,
    user: r.owner as string,
  }));
}

/** Everything known about one artifact: digests, where it is stored, who produced and consumed it. */
export async function artifactDetail(db: SqlExecutor, a: ArtifactJson) {
  const [hashes, locations, producedBy, consumedBy] = await Promise.all([
    db.all<{ algorithm: string; digest: string }>(
      "SELECT algorithm, digest FROM artifact_hashes WHERE artifact_id = ? ORDER BY algorithm",
      [a.id],
    ),
    db.all("SELECT url, source_type, owner, created_at FROM artifact_locations WHERE artifact_id = ? ORDER BY url", [
      a.id,
    ]),
    jobRefs(db, a.id, "output"),
    jobRefs(db, a.id, "input"),
  ]);
  return {
    ...a,
    hashes: hashes.map((h) => ({ algorithm: h.algorithm, digest: h.digest })),
    locations: locations.map((l) => ({
      url: l.url as string,
      source_type: (l.source_type as string | null) ?? null,
      user: l.owner as string,
      created_at: isoTime(l.created_at),
    })),
    produced_by: producedBy,
    consumed_by: consumedBy,
  };
}

export async function sessionRow(db: SqlExecutor, hash: string) {
  const [row] = await db.all(
    "SELECT hash, git_repo, git_commit, git_branch, owner, created_at, updated_at FROM sessions WHERE hash = ?",
    [hash.toLowerCase()],
  );
  if (!row) throw notFound(`session ${hash}`);
  return {
    hash: row.hash as string,
    git_repo: (row.git_repo as string | null) ?? null,
    git_commit: (row.git_commit as string | null) ?? null,
    git_branch: (row.git_branch as string | null) ?? null,
    user: row.owner as string,
    created_at: isoTime(row.created_at),
    updated_at: isoTime(row.updated_at),
  };
}

export async function sessionJobs(db: SqlExecutor, hash: string): Promise<JobWithIo[]> {
  const rows = await db.all(
    `SELECT ${JOB_FIELDS} FROM jobs j WHERE j.session_hash = ? ORDER BY j.step_number, j.timestamp, j.id LIMIT 20000`,
    [hash.toLowerCase()],
  );
  return withIo(db, rows.map(jobJson));
}

export async function jobByUid(db: SqlExecutor, sessionHash: string, jobUid: string): Promise<JobWithIo> {
  const [row] = await db.all(`SELECT ${JOB_FIELDS} FROM jobs j WHERE j.session_hash = ? AND j.job_uid = ?`, [
    sessionHash.toLowerCase(),
    jobUid,
  ]);
  if (!row) throw notFound(`job ${jobUid}`);
  return (await withIo(db, [jobJson(row)]))[0] as JobWithIo;
}

export interface Lineage {
  /** Jobs upstream of the artifact, nearest first, each with its level (1 = produced the artifact). */
  jobs: (JobJson & { level: number })[];
  /** Artifact ids reached (the start included). */
  artifactIds: number[];
  /** Whether inputs remained unexplored at the depth limit. */
  truncated: boolean;
}

/** The most recent job that wrote the artifact `id` (NULL timestamps count as 0 on both databases). */
const latestProducer = (id: string) => `(SELECT io.job_id FROM job_io io JOIN jobs pj ON pj.id = io.job_id
  WHERE io.artifact_id = ${id} AND io.role = 'output'
  ORDER BY COALESCE(pj.timestamp, 0) DESC, pj.id DESC LIMIT 1)`;

/**
 * Upstream lineage in one query: from the artifact, its most recent producer, that job's inputs, their most
 * recent producers… up to `depth` levels (a recursive CTE: one round trip whatever the depth). Each row carries
 * its artifact's chosen producer, so the next step is a plain indexed join on the job's inputs. Taking only the
 * latest producer keeps content that many jobs wrote (an empty file) from fanning out.
 */
export async function upstream(db: SqlExecutor, artifactId: number, depth: number): Promise<Lineage> {
  const rows = await db.all(
    `WITH RECURSIVE walk(artifact_id, level, job_id) AS (
       SELECT CAST(? AS BIGINT), 0, ${latestProducer("CAST(? AS BIGINT)")}
       UNION
       SELECT inp.artifact_id, w.level + 1, ${latestProducer("inp.artifact_id")}
       FROM walk w JOIN job_io inp ON inp.job_id = w.job_id AND inp.role = 'input'
       WHERE w.level < ?
     )
     SELECT w.artifact_id AS reached_id, w.level AS reached_level, ${JOB_FIELDS}
     FROM walk w LEFT JOIN jobs j ON j.id = w.job_id`,
    [artifactId, artifactId, depth],
  );
  const jobs = new Map<number, JobJson & { level: number }>();
  const artifacts = new Set<number>();
  let truncated = false;
  for (const r of rows) {
    artifacts.add(num(r.reached_id) as number);
    if (r.id === null || r.id === undefined) continue;
    const level = (num(r.reached_level) as number) + 1;
    if (level > depth) {
      truncated = true;
      continue;
    }
    const job = jobJson(r);
    const known = jobs.get(job.id);
    if (!known || level < known.level) jobs.set(job.id, { ...job, level });
  }
  const sorted = [...jobs.values()].sort((a, b) => a.level - b.level || a.id - b.id);
  return { jobs: sorted, artifactIds: [...artifacts], truncated };
}

export async function artifactsByIds(db: SqlExecutor, ids: number[]): Promise<ArtifactJson[]> {
  const out: ArtifactJson[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows = await db.all(
      `SELECT ${ARTIFACT_FIELDS} FROM artifacts a WHERE a.id IN (${placeholders(part.length)})`,
      part,
    );
    out.push(...rows.map(artifactJson));
  }
  return out;
}
