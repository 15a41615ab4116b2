/** The pieces of `roar run` / `roar build` around the record pipeline: settings, environment, outcome. */
import type { RoarConfig } from "../config/schema.ts";
import type { FilterSettings } from "../core/filters.ts";
import { jobJson } from "../core/job-view.ts";
import { REDACTED } from "../core/secrets.ts";
import { staleWarnings, stepList } from "../core/staleness.ts";
import type { ShowJobJson } from "../schema/show.ts";
import { RoarError } from "../shared/errors.ts";
import { storeFailure } from "../store/errors.ts";
import type { RoarStore } from "../store/store.ts";
import type { TraceOutcome } from "../trace/types.ts";
import { loadStalenessDag } from "./dag-load.ts";

export function filterSettings(config: RoarConfig): FilterSettings {
  return {
    ignoreSystemReads: config.filters.ignore_system_reads,
    ignorePackageReads: config.filters.ignore_package_reads,
    ignoreTorchCache: config.filters.ignore_torch_cache,
    ignoreTmpFiles: config.filters.ignore_tmp_files,
    trackRepoFiles: config.output.track_repo_files,
    ignorePaths: config.filters.ignore_paths,
  };
}

/**
 * The command's environment: roar's own, with [env] injected over it. `roar rerun` injects the values the step
 * ran with (a value stored redacted comes from [env]). `injected` is what the job records.
 */
export function jobEnvironment(
  processEnv: Record<string, string | undefined>,
  configEnv: Record<string, string>,
  recordedEnv: Record<string, string> | undefined,
): { env: Record<string, string>; injected: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v;
  const injected: Record<string, string> = { ...configEnv };
  for (const [k, v] of Object.entries(recordedEnv ?? {})) if (v !== REDACTED) injected[k] = v;
  Object.assign(env, injected);
  return { env, injected };
}

const SIGINT = 2;

/** Docker-run style: the command's code, 128+N for signal N (an interrupted job without a code: SIGINT). */
export function exitStatus(outcome: TraceOutcome, interrupted: boolean): number {
  if (outcome.signal !== null) return 128 + outcome.signal;
  if (interrupted && outcome.exitCode === null) return 128 + SIGINT;
  return outcome.exitCode ?? 125;
}

/** The command ran but its job could not be stored: say why, and what the command itself did. */
export function notRecorded(error: unknown, outcome: TraceOutcome, dbPath: string): RoarError {
  const failure = storeFailure(error, dbPath);
  const reason = failure?.reason ?? (error instanceof Error ? error.message : String(error));
  const did = outcome.signal !== null ? `was killed by signal ${outcome.signal}` : `exited ${outcome.exitCode ?? "?"}`;
  const result = new RoarError(`could not record the job (${reason}); the command ${did}`, 125);
  result.cause = error;
  return result;
}

/** roar's own time after the trace, kept with the job; only roar's timing is lost when it cannot be. */
export function notePostTime(store: RoarStore, uid: string, postMs: number): void {
  try {
    store.setJobPostMs(uid, Math.round(postMs));
  } catch {
    // The job is recorded; only roar's own timing is missing.
  }
}

/** The recorded job as `roar show <uid> --json` prints it (before presentation). */
export function recordedJobDocument(store: RoarStore, uid: string, sessionId: number): ShowJobJson | null {
  const stored = store.jobWithIo(uid);
  return stored ? jobJson(stored, store.sessionById(sessionId), true) : null;
}

/** After recording: what this job made stale, or consumed stale (lines for stderr). */
export function staleNotes(store: RoarStore, sessionId: number, uid: string): string[] {
  const dag = loadStalenessDag(store, sessionId);
  const { consumedStaleFrom, staleDownstream } = staleWarnings(dag, uid);
  const lines: string[] = [];
  if (consumedStaleFrom.length > 0)
    lines.push(`warning: this job consumed stale inputs from: ${stepList(dag, consumedStaleFrom)}`);
  if (staleDownstream.length > 0) {
    lines.push(`warning: downstream steps are stale: ${stepList(dag, staleDownstream)}`);
    lines.push("'roar rerun' brings them up to date; 'roar status' says why each is stale.");
  }
  return lines;
}
