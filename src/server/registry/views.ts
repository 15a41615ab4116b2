/** The JSON shapes the registry answers with (snake_case, as the original client sends them). */
import { num, placeholders, type Row, type SqlExecutor } from "../db/sql.ts";

export interface JobJson {
  id: number;
  session_hash: string;
  job_uid: string;
  command: string;
  timestamp: number | null;
  git_commit: string | null;
  git_branch: string | null;
  duration_seconds: number | null;
  exit_code: number | null;
  job_type: string;
  step_number: number | null;
  metadata: string | null;
  parent_job_uid: string | null;
  user: string;
}

export interface IoJson {
  hash: string;
  path: string;
  size: number | null;
}

export type JobWithIo = JobJson & { inputs: IoJson[]; outputs: IoJson[] };

export interface ArtifactJson {
  id: number;
  hash: string;
  size: number | null;
  source_type: string | null;
  metadata: string | null;
  session_hash: string | null;
  user: string;
  created_at: string;
}

export const JOB_FIELDS =
  "j.id, j.session_hash, j.job_uid, j.command, j.timestamp, j.git_commit, j.git_branch, j.duration_seconds, j.exit_code, j.job_type, j.step_number, j.metadata, j.parent_job_uid, j.owner";

export const ARTIFACT_FIELDS = "a.id, a.hash, a.size, a.source_type, a.metadata, a.session_hash, a.owner, a.created_at";

export function jobJson(r: Row): JobJson {
  return {
    id: num(r.id) as number,
    session_hash: r.session_hash as string,
    job_uid: r.job_uid as string,
    command: r.command as string,
    timestamp: num(r.timestamp),
    git_commit: (r.git_commit as string | null) ?? null,
    git_branch: (r.git_branch as string | null) ?? null,
    duration_seconds: num(r.duration_seconds),
    exit_code: num(r.exit_code),
    job_type: r.job_type as string,
    step_number: num(r.step_number),
    metadata: (r.metadata as string | null) ?? null,
    parent_job_uid: (r.parent_job_uid as string | null) ?? null,
    user: r.owner as string,
  };
}

export function isoTime(seconds: unknown): string {
  return new Date((num(seconds) ?? 0) * 1000).toISOString();
}

export function artifactJson(r: Row): ArtifactJson {
  return {
    id: num(r.id) as number,
    hash: r.hash as string,
    size: num(r.size),
    source_type: (r.source_type as string | null) ?? null,
    metadata: (r.metadata as string | null) ?? null,
    session_hash: (r.session_hash as string | null) ?? null,
    user: r.owner as string,
    created_at: isoTime(r.created_at),
  };
}

/** Inputs and outputs of the given jobs, by job id. */
export async function ioOfJobs(
  db: SqlExecutor,
  jobIds: number[],
): Promise<Map<number, { inputs: IoJson[]; outputs: IoJson[] }>> {
  const out = new Map<number, { inputs: IoJson[]; outputs: IoJson[] }>();
  for (const id of jobIds) out.set(id, { inputs: [], outputs: [] });
  for (let i = 0; i < jobIds.length; i += 500) {
    const part = jobIds.slice(i, i + 500);
    const rows = await db.all(
      `SELECT io.job_id, io.role, io.path, a.hash, a.size FROM job_io io JOIN artifacts a ON a.id = io.artifact_id
       WHERE io.job_id IN (${placeholders(part.length)}) ORDER BY io.path`,
      part,
    );
    for (const r of rows) {
      const entry = out.get(num(r.job_id) as number);
      if (!entry) continue;
      const io = { hash: r.hash as string, path: r.path as string, size: num(r.size) };
      (r.role === "input" ? entry.inputs : entry.outputs).push(io);
    }
  }
  return out;
}

export async function withIo(db: SqlExecutor, jobs: JobJson[]): Promise<JobWithIo[]> {
  const io = await ioOfJobs(
    db,
    jobs.map((j) => j.id),
  );
  return jobs.map((j) => ({ ...j, ...(io.get(j.id) as { inputs: IoJson[]; outputs: IoJson[] }) }));
}
