/** Plain objects the store hands to core/ and ui/ (no SQL types leak out). */
import type { JobGit, JobMetadata, JobTrace } from "../schema/job-columns.ts";

export type { JobGit, JobMetadata, JobTrace };

export type JobKind = "run" | "build" | "get" | "put";
export type JobStatus = "ok" | "failed" | "interrupted";

export interface SessionRow {
  id: number;
  uid: string;
  createdAt: number;
  active: boolean;
  gitRepo: string | null;
  gitCommitStart: string | null;
  metadata: Record<string, unknown>;
}

export interface IoRecord {
  path: string;
  /** null when the job deleted the file. */
  blake3: string | null;
  size: number | null;
  flags: number;
  /** Other digests of the artifact ({sha256: …}). */
  digests?: Record<string, string>;
  /** Outputs that existed before the job (IoFlags.EXISTED): what the file held then, when known. */
  prevBlake3?: string | null;
  /** ... and its st_mode then. */
  prevMode?: number | null;
  /** IoFlags.SYMLINK: the link's target, as the job wrote it (bytes that are not UTF-8 as in shared/paths.ts). */
  linkTarget?: string;
}

export interface JobRow {
  uid: string;
  seq: number;
  sessionId: number;
  step: number;
  stepIdentity: string;
  kind: JobKind;
  name: string | null;
  argv: string[];
  cwd: string;
  startedAt: number;
  durationMs: number;
  traceMs: number | null;
  postMs: number | null;
  exitCode: number | null;
  signal: number | null;
  status: JobStatus;
  git: JobGit;
  trace: JobTrace;
  metadata: JobMetadata;
}

export interface JobWithIo extends JobRow {
  inputs: IoRecord[];
  outputs: IoRecord[];
}

/** What `roar run` hands the store to record one job (one transaction); uid and seq are assigned there. */
export type NewJob = Omit<JobWithIo, "uid" | "seq">;

/** A job to record whose step may be left to the store (assigned inside the write transaction). */
export type NewJobInput = Omit<NewJob, "step"> & { step?: number };

/** A roar run that is tracing its command now (registered so parallel runs know its files). */
export interface RunInFlight {
  id: string;
  pid: number;
  /** Start time of `pid` (clock ticks since boot, /proc/<pid>/stat), so a reused pid is not taken for it. */
  pidStart: number | null;
  startedAt: number;
  /** The run's private directory: its events file and preload spool. */
  traceDir: string;
}

/**
 * Digests found among the store's artifacts, and the store's data_version when they were looked up (SQLite's
 * count of commits by other connections): while it is unchanged, none of them has been deleted since, and
 * recording a job need not write their rows again (see store/jobs.ts insertJob).
 */
export interface KnownArtifacts {
  version: number;
  digests: ReadonlySet<string>;
}

export interface ArtifactRow {
  blake3: string;
  size: number;
  firstSeenAt: number;
  firstSeenPath: string | null;
  digests: Record<string, string>;
}

/** A job without its git/trace/metadata JSON: what graph queries (dag, log, status) read. */
export type JobSummary = Pick<
  JobRow,
  | "uid"
  | "seq"
  | "sessionId"
  | "step"
  | "kind"
  | "name"
  | "argv"
  | "cwd"
  | "startedAt"
  | "durationMs"
  | "exitCode"
  | "signal"
  | "status"
>;

/** A directory uploaded or downloaded as a whole (`collections` + `collection_members`). */
export interface NewCollection {
  /** Where it is: the remote prefix URL (put) or the local directory's stored path (get). */
  name: string;
  kind: "directory";
  /** Composite digest: BLAKE3 of its sorted `path\0blake3\n` lines (core/remote.ts compositeListing). */
  blake3: string;
  members: { path: string; blake3: string }[];
  metadata: Record<string, unknown>;
}

export interface CollectionRow extends NewCollection {
  id: number;
  createdAt: number;
}
