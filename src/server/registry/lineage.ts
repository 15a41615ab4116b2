/**
 * The two lineage answers: `/artifacts/{prefix}/lineage` (the upstream jobs and artifacts, like `roar lineage`)
 * and `/artifacts/{prefix}/dag` (what a remote `roar reproduce` replays: the jobs in order, the build steps of
 * their sessions, the inputs that come from outside, the git repository and commit).
 */
import { placeholders, type SqlExecutor } from "../db/sql.ts";
import { artifactsByIds, upstream } from "./read.ts";
import { type ArtifactJson, JOB_FIELDS, type JobWithIo, jobJson, withIo } from "./views.ts";

export const MAX_LINEAGE_DEPTH = 10;
/** How far `dag` follows inputs upstream: a whole pipeline, within reason. */
export const DAG_DEPTH = 64;

export async function lineageOf(db: SqlExecutor, artifact: ArtifactJson, depth: number) {
  const found = await upstream(db, artifact.id, depth);
  const jobs = await withIo(db, found.jobs);
  const levelOf = new Map(found.jobs.map((j) => [j.id, j.level]));
  const artifacts = await artifactsByIds(db, found.artifactIds);
  return {
    artifact,
    depth,
    truncated: found.truncated,
    jobs: jobs.map((j) => ({ ...j, level: levelOf.get(j.id) as number })),
    artifacts,
  };
}

function byTime(a: JobWithIo, b: JobWithIo): number {
  return (a.timestamp ?? 0) - (b.timestamp ?? 0) || (a.step_number ?? 0) - (b.step_number ?? 0) || a.id - b.id;
}

/** The original client reads camelCase here (`jobType`, `gitRepo`, `gitCommit`). */
function dagJob(j: JobWithIo) {
  return {
    id: j.id,
    jobUid: j.job_uid,
    sessionHash: j.session_hash,
    jobType: j.job_type,
    stepNumber: j.step_number,
    command: j.command,
    timestamp: j.timestamp,
    durationSeconds: j.duration_seconds,
    exitCode: j.exit_code,
    gitCommit: j.git_commit,
    gitBranch: j.git_branch,
    metadata: j.metadata,
    user: j.user,
    inputs: j.inputs,
    outputs: j.outputs,
  };
}

export async function dagOf(db: SqlExecutor, artifact: ArtifactJson) {
  const found = await upstream(db, artifact.id, DAG_DEPTH);
  const lineageJobs = await withIo(db, found.jobs);
  const sessions = [...new Set(lineageJobs.map((j) => j.session_hash))];
  // Build steps (compilers, `pip install -e .`) are replayed before anything else, as `roar reproduce` does.
  const buildRows =
    sessions.length === 0
      ? []
      : await db.all(
          `SELECT ${JOB_FIELDS} FROM jobs j WHERE j.job_type = 'build' AND j.session_hash IN (${placeholders(sessions.length)})`,
          sessions,
        );
  const known = new Set(lineageJobs.map((j) => j.id));
  const builds = await withIo(
    db,
    buildRows.map(jobJson).filter((j) => !known.has(j.id)),
  );
  const jobs = [...lineageJobs, ...builds].sort(byTime);
  const produced = new Set(jobs.flatMap((j) => j.outputs.map((o) => o.hash)));
  const externalDeps = new Map<string, { hash: string; path: string; size: number | null }>();
  for (const j of jobs)
    for (const i of j.inputs) if (!produced.has(i.hash) && !externalDeps.has(i.hash)) externalDeps.set(i.hash, i);
  const edges: { from: string; to: string; hash: string; path: string }[] = [];
  const producerOf = new Map<string, string>();
  for (const j of jobs) for (const o of j.outputs) producerOf.set(o.hash, j.job_uid);
  for (const j of jobs)
    for (const i of j.inputs) {
      const from = producerOf.get(i.hash);
      if (from && from !== j.job_uid) edges.push({ from, to: j.job_uid, hash: i.hash, path: i.path });
    }
  const producer = lineageJobs.find((j) => j.outputs.some((o) => o.hash === artifact.hash));
  const [session] = producer
    ? await db.all<{ git_repo: string | null; git_commit: string | null }>(
        "SELECT git_repo, git_commit FROM sessions WHERE hash = ?",
        [producer.session_hash],
      )
    : [];
  return {
    artifact,
    is_external: producer === undefined,
    dag: producer ? { session_hash: producer.session_hash, nodes: jobs.map((j) => j.job_uid), edges } : null,
    jobs: jobs.map(dagJob),
    external_deps: [...externalDeps.values()],
    gitRepo: session?.git_repo ?? null,
    gitCommit: producer?.git_commit ?? session?.git_commit ?? null,
    truncated: found.truncated,
  };
}
