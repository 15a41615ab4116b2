/** Record step 5: the job as stored, from what the earlier steps found. */
import type { Classification } from "../../core/classify.ts";
import { isRepositoryCode } from "../../core/filters.ts";
import { isInside, storedPath } from "../../core/project-paths.ts";
import { stepIdentity } from "../../core/step.ts";
import type { IoRecord, JobKind, JobStatus, NewJob } from "../../core/types.ts";
import type { TraceOutcome } from "../../trace/types.ts";

/** The job as the command ran it. */
export interface JobRequest {
  sessionId: number;
  kind: JobKind;
  /** The step this job re-runs (`roar run @N`): it stays that step whatever its argv became or its outcome. */
  step?: number;
  name: string | null;
  argv: string[];
  cwd: string;
  /** Interrupted by the user (Ctrl-C). */
  interrupted: boolean;
}

/** What the record steps found. */
export interface JobFindings {
  outcome: TraceOutcome;
  classification: Classification;
  /** Every reason the trace may have missed something (empty: complete). */
  incomplete: TraceOutcome["incomplete"];
  inputs: IoRecord[];
  outputs: IoRecord[];
  skipped: { path: string; reason: string }[];
  hashing: { files: number; cacheHits: number; bytesHashed: number };
  /** The capture sources' facts (see capture/source.ts). */
  environment: { git: Record<string, unknown>; metadata: Record<string, unknown> };
  /** The [env] values injected into the job, as stored (secrets redacted). */
  env: Record<string, string>;
}

function statusOf(request: JobRequest, outcome: TraceOutcome): JobStatus {
  if (request.interrupted) return "interrupted";
  return outcome.exitCode === 0 && outcome.signal === null && outcome.spawnError === null ? "ok" : "failed";
}

export function assembleJob(request: JobRequest, found: JobFindings, projectRoot: string): NewJob {
  const { outcome, classification, skipped } = found;
  return {
    sessionId: request.sessionId,
    step: 0, // assigned by the store inside the job's transaction (or given: request.step)
    stepIdentity: stepIdentity(request.kind, request.argv),
    kind: request.kind,
    name: request.name,
    argv: request.argv,
    cwd: storedPath(request.cwd, projectRoot),
    startedAt: outcome.startedAt,
    durationMs: Math.round(outcome.durationMs),
    traceMs: Math.round(outcome.durationMs),
    postMs: null,
    exitCode: outcome.spawnError ? outcome.spawnError.code : outcome.exitCode,
    signal: outcome.signal,
    status: statusOf(request, outcome),
    git: found.environment.git,
    trace: {
      backend: outcome.backend,
      complete: found.incomplete.length === 0,
      reasons: found.incomplete,
      processes: classification.processes.length,
      // Each process and how it ended; the endpoints it talked to (a job that used the network is not
      // self-contained).
      processList: classification.processes.map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        exe: p.exe,
        exitCode: p.exitCode,
        signal: p.signal,
      })),
      ...(classification.network.length > 0 ? { network: classification.network } : {}),
      ...(outcome.coverage ? { coverage: outcome.coverage } : {}),
    },
    metadata: {
      ...found.environment.metadata,
      env: found.env,
      skipped: skipped.length,
      // Files of the repository it read (its scripts, modules): the commit stands for them; listed so a later
      // change to one of them in git makes the step stale (see run/freshness.ts).
      codeFiles: [
        ...new Set(
          skipped
            .filter((s) => isRepositoryCode(s.reason) && isInside(s.path, projectRoot))
            .map((s) => storedPath(s.path, projectRoot)),
        ),
      ].sort(),
      hashing: found.hashing,
    },
    inputs: found.inputs,
    outputs: found.outputs,
  };
}
