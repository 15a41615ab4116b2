/**
 * A reproduction plan's jobs from the registry (`GET /artifacts/{prefix}` + `/dag`) instead of the local store:
 * each registered job becomes the same JobWithIo the planner and the rebuild use, argv/cwd/[env] from the
 * metadata `roar register` wrote — or, for a job another client registered with only its command string, the
 * command split into shell words (said in a note).
 */

import { IoFlags } from "../core/io-flags.ts";
import { isRemoteUrl } from "../core/remote.ts";
import type { PlanSource } from "../core/reproduce.ts";
import { REDACTED } from "../core/secrets.ts";
import { shellWords } from "../core/shell-words.ts";
import { stepLabel } from "../core/step.ts";
import type { IoRecord, JobKind, JobWithIo } from "../core/types.ts";
import { decodeJobGit, decodeJobMetadata, decodeJobTrace } from "../schema/job-columns.ts";
import { API, type RegistryClient, RegistryRequestError } from "./client.ts";

interface DagIo {
  hash: string;
  path: string;
  size: number | null;
}

export interface DagJob {
  jobUid: string;
  sessionHash: string;
  jobType: string | null;
  stepNumber: number | null;
  command: string;
  timestamp: number | null;
  durationSeconds: number | null;
  exitCode: number | null;
  gitCommit: string | null;
  gitBranch: string | null;
  metadata: string | Record<string, unknown> | null;
  inputs: DagIo[];
  outputs: DagIo[];
}

export interface DagAnswer {
  artifact: { hash: string };
  jobs: DagJob[];
  gitRepo: string | null;
  gitCommit: string | null;
}

export interface RegistryPlan {
  /** The artifact's primary digest in the registry (BLAKE3 for what roar registered). */
  blake3: string;
  jobs: JobWithIo[];
  source: PlanSource;
  gitRepo: string | null;
  /** The project's directory inside the repository ('' at its root), as registered. */
  projectDir: string;
  /** What the user should know about how the jobs were read (per job). */
  notes: Map<string, string[]>;
}

const KINDS: readonly JobKind[] = ["run", "build", "get", "put"];

function parsed(metadata: DagJob["metadata"]): Record<string, unknown> {
  if (metadata && typeof metadata === "object") return metadata;
  if (typeof metadata !== "string") return {};
  try {
    const v: unknown = JSON.parse(metadata);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const io = (list: readonly DagIo[]): IoRecord[] =>
  list.map((x) => ({ path: x.path, blake3: x.hash, size: x.size, flags: isRemoteUrl(x.path) ? IoFlags.REMOTE : 0 }));

/** One registered job as a planner job; `seq` and `sessionId` are given by the caller (registry order). */
export function jobFromRegistry(
  j: DagJob,
  seq: number,
  sessionId: number,
  gitRepo: string | null,
): { job: JobWithIo; notes: string[]; projectDir: string | null } {
  const m = parsed(j.metadata);
  const notes: string[] = [];
  const kind = (KINDS as readonly string[]).includes(String(m.kind ?? j.jobType))
    ? (String(m.kind ?? j.jobType) as JobKind)
    : "run";
  const step = j.stepNumber ?? seq;
  let argv: string[];
  if (Array.isArray(m.argv) && m.argv.every((a) => typeof a === "string")) argv = m.argv as string[];
  else {
    argv = shellWords(j.command);
    notes.push("registered without its argv (not by roar register): its command line is split into shell words");
  }
  if (argv.some((a) => a.includes(REDACTED)))
    notes.push(`its command was registered with ${REDACTED} values: it cannot run as recorded`);
  const git = (m.git ?? {}) as { remote?: unknown; clean?: unknown; uncommitted_diff?: unknown };
  if (git.uncommitted_diff === true)
    notes.push(
      "it ran with uncommitted changes whose diff stayed on the recording machine: it runs on its commit alone",
    );
  const status =
    m.status === "ok" || m.status === "failed" || m.status === "interrupted"
      ? m.status
      : j.exitCode === null || j.exitCode === 0
        ? "ok"
        : "failed";
  const job: JobWithIo = {
    uid: j.jobUid,
    seq,
    sessionId,
    step,
    stepIdentity: "",
    kind,
    name: typeof m.name === "string" ? m.name : null,
    argv,
    cwd: typeof m.cwd === "string" ? m.cwd : "",
    startedAt: (j.timestamp ?? 0) * 1000,
    durationMs: (j.durationSeconds ?? 0) * 1000,
    traceMs: null,
    postMs: null,
    exitCode: j.exitCode,
    signal: typeof m.signal === "number" ? m.signal : null,
    status,
    git: decodeJobGit({
      commit: j.gitCommit,
      branch: j.gitBranch,
      remoteUrl: typeof git.remote === "string" ? git.remote : gitRepo,
      clean: git.clean ?? null,
    }),
    trace: decodeJobTrace(m.trace ?? {}),
    metadata: decodeJobMetadata({
      env: m.env ?? m.env_vars ?? {},
      packages: m.packages ?? {},
      python: m.python ?? null,
      runtime: m.runtime ?? {},
    }),
    inputs: io(j.inputs),
    outputs: io(j.outputs),
  };
  return { job, notes, projectDir: typeof m.project_dir === "string" ? m.project_dir : null };
}

/** PlanSource over a list of jobs: producers among run and build jobs (what a rebuild can replay), builds by session. */
export function listPlanSource(jobs: readonly JobWithIo[]): PlanSource {
  return {
    producers: (blake3) =>
      jobs.filter((j) => (j.kind === "run" || j.kind === "build") && j.outputs.some((o) => o.blake3 === blake3)),
    sessionBuilds: (sessionId) => jobs.filter((j) => j.kind === "build" && j.sessionId === sessionId),
  };
}

export function planFromDag(dag: DagAnswer): RegistryPlan {
  const sessions = new Map<string, number>();
  const notes = new Map<string, string[]>();
  const jobs: JobWithIo[] = [];
  let projectDir: string | null = null;
  dag.jobs.forEach((j, i) => {
    if (!sessions.has(j.sessionHash)) sessions.set(j.sessionHash, sessions.size + 1);
    const made = jobFromRegistry(j, i + 1, sessions.get(j.sessionHash) as number, dag.gitRepo);
    jobs.push(made.job);
    if (made.notes.length > 0)
      notes.set(
        made.job.uid,
        made.notes.map((n) => `${stepLabel(made.job.step, made.job.kind)}: ${n}`),
      );
    projectDir ??= made.projectDir;
  });
  return {
    blake3: dag.artifact.hash,
    jobs,
    source: listPlanSource(jobs),
    gitRepo: dag.gitRepo,
    projectDir: projectDir ?? "",
    notes,
  };
}

/** The artifact a prefix names in the registry and the jobs to rebuild it; null when the registry has none. */
export async function fetchRegistryPlan(client: RegistryClient, prefix: string): Promise<RegistryPlan | null> {
  let artifact: { hash: string };
  try {
    artifact = await client.request<{ hash: string }>("GET", `${API}/artifacts/${encodeURIComponent(prefix)}`);
  } catch (error) {
    if (error instanceof RegistryRequestError && error.status === 404) return null;
    if (error instanceof RegistryRequestError && error.status === 409)
      throw new RegistryRequestError(
        `ambiguous hash prefix '${prefix}' in the registry: give more characters (${error.candidates.slice(0, 5).join(", ")}${error.candidates.length > 5 ? ", …" : ""})`,
        409,
        error.detail,
      );
    throw error;
  }
  const dag = await client.request<DagAnswer>("GET", `${API}/artifacts/${artifact.hash}/dag`);
  return planFromDag(dag);
}
