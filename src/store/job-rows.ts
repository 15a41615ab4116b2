/** Rows of the `jobs` table as the plain objects of core/types.ts; the JSON columns decoded once, here. */
import type { JobRow, JobSummary } from "../core/types.ts";
import { decodeJobGit, decodeJobMetadata, decodeJobTrace } from "../schema/job-columns.ts";
import { json, type Row } from "./statements.ts";

/** A JSON column's value; text that is not JSON (a damaged row) reads as no value. */
function parsedColumn(text: unknown): unknown {
  if (typeof text !== "string" || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function toJob(r: Row): JobRow {
  return {
    ...toJobSummary(r),
    stepIdentity: r.step_identity as string,
    traceMs: (r.trace_ms as number | null) ?? null,
    postMs: (r.post_ms as number | null) ?? null,
    git: decodeJobGit(parsedColumn(r.git)),
    trace: decodeJobTrace(parsedColumn(r.trace)),
    metadata: decodeJobMetadata(parsedColumn(r.metadata)),
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
