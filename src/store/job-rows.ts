/** Rows of the `jobs` table as the plain objects of core/types.ts. */
import type { JobRow, JobSummary } from "../core/types.ts";
import { json, type Row } from "./statements.ts";

export function toJob(r: Row): JobRow {
  return {
    uid: r.uid as string,
    seq: r.seq as number,
    sessionId: r.session_id as number,
    step: r.step as number,
    stepIdentity: r.step_identity as string,
    kind: r.kind as JobRow["kind"],
    name: (r.name as string | null) ?? null,
    argv: json(r.argv, [] as string[]),
    cwd: r.cwd as string,
    startedAt: r.started_at as number,
    durationMs: r.duration_ms as number,
    traceMs: (r.trace_ms as number | null) ?? null,
    postMs: (r.post_ms as number | null) ?? null,
    exitCode: (r.exit_code as number | null) ?? null,
    signal: (r.signal as number | null) ?? null,
    status: r.status as JobRow["status"],
    git: json(r.git, {}),
    trace: json(r.trace, {}),
    metadata: json(r.metadata, {}),
  };
}

/** The columns `toJobSummary` reads: a job without its git/trace/metadata JSON. */
export const SUMMARY_COLUMNS =
  "uid, seq, session_id, step, kind, name, argv, cwd, started_at, duration_ms, exit_code, signal, status";

export function toJobSummary(r: Row): JobSummary {
  return {
    uid: r.uid as string,
    seq: r.seq as number,
    sessionId: r.session_id as number,
    step: r.step as number,
    kind: r.kind as JobSummary["kind"],
    name: (r.name as string | null) ?? null,
    argv: json(r.argv, [] as string[]),
    cwd: r.cwd as string,
    startedAt: r.started_at as number,
    durationMs: r.duration_ms as number,
    exitCode: (r.exit_code as number | null) ?? null,
    signal: (r.signal as number | null) ?? null,
    status: r.status as JobSummary["status"],
  };
}
