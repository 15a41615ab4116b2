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

/**
 * Upstream lineage: the most recent producer of each artifact, then the producers of that job's inputs, up to
 * `depth` levels. Two queries per level whatever the graph's width (producers, then the chosen jobs' inputs: one
 * joined query would return outputs × inputs rows for a job that wrote many of the artifacts asked about).
 * Choosing the latest producer keeps content that many jobs wrote (an empty file) from fanning out.
 */
export async function upstream(db: SqlExecutor, artifactId: number, depth: number): Promise<Lineage> {
  const jobs = new Map<number, JobJson & { level: number }>();
  const seen = new Set<number>([artifactId]);
  let frontier = [artifactId];
  let truncated = false;
  for (let level = 1; frontier.length > 0; level++) {
    if (level > depth) {
      truncated = true;
      break;
    }
    const producers = new Map<number, JobJson>();
    for (let i = 0; i < frontier.length; i += 500) {
      const part = frontier.slice(i, i + 500);
      const rows = await db.all(
        `SELECT io.artifact_id, ${JOB_FIELDS} FROM job_io io JOIN jobs j ON j.id = io.job_id
         WHERE io.role = 'output' AND io.artifact_id IN (${placeholders(part.length)})`,
        part,
      );
      for (const r of rows) {
        const job = jobJson(r);
        const key = num(r.artifact_id) as number;
        const best = producers.get(key);
        if (
          !best ||
          (job.timestamp ?? 0) > (best.timestamp ?? 0) ||
          ((job.timestamp ?? 0) === (best.timestamp ?? 0) && job.id > best.id)
        )
          producers.set(key, job);
      }
    }
    const fresh = [...new Map([...producers.values()].map((j) => [j.id, j])).values()].filter((j) => !jobs.has(j.id));
    for (const j of fresh) jobs.set(j.id, { ...j, level });
    frontier = [];
    for (let i = 0; i < fresh.length; i += 500) {
      const part = fresh.slice(i, i + 500).map((j) => j.id);
      const rows = await db.all<{ artifact_id: number }>(
        `SELECT DISTINCT artifact_id FROM job_io WHERE role = 'input' AND job_id IN (${placeholders(part.length)})`,
        part,
      );
      for (const r of rows) {
        const id = num(r.artifact_id) as number;
        if (!seen.has(id)) {
          seen.add(id);
          frontier.push(id);
        }
      }
    }
  }
  return { jobs: [...jobs.values()], artifactIds: [...seen], truncated };
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
