/** Step references (`@N`, `@BN`, `@N~K`) resolved against the store: what `roar run @N`, `show` and `diff` call. */
import { formatStepRef, parseStepRef, resolveStepRef, type StepRef } from "../core/refs.ts";
import { stepLabel } from "../core/step.ts";
import type { JobRow, SessionRow } from "../core/types.ts";
import { RoarError } from "../shared/errors.ts";
import type { RoarStore } from "../store/store.ts";

/** The active session, or "No active DAG.". */
export function requireActiveSession(store: RoarStore): SessionRow {
  const session = store.activeSession();
  if (!session) throw new RoarError("No active DAG.", 1, "hint: 'roar reset' starts a session");
  return session;
}

/**
 * `@N` / `@BN` text → the latest job of that step in the active session (or `sessionId`), with full details;
 * `@N~K` → the K-th job before it. What `roar run @N`, `roar show @N` and `roar diff` call.
 */
export function resolveStepRefInStore(store: RoarStore, text: string, sessionId?: number): JobRow {
  const ref = parseStepRef(text);
  const sid = sessionId ?? requireActiveSession(store).id;
  const job = store.latestJobOfStep(sid, ref.step);
  if (job && (job.kind === "build") === ref.build) return ref.back ? earlierJobOfStep(store, job, ref) : job;
  // Same error text (and hint) as the pure resolver.
  resolveStepRef(job ? [job] : [], ref);
  throw new RoarError(`No node ${formatStepRef(ref)} in DAG.`);
}

/** The `ref.back`-th job of `current`'s step before it, or an error saying how many earlier jobs there are. */
function earlierJobOfStep(store: RoarStore, current: JobRow, ref: StepRef): JobRow {
  const back = ref.back ?? 0;
  const jobs = store
    .sessionJobSummaries(current.sessionId)
    .filter((j) => j.step === current.step && j.kind === current.kind)
    .sort((a, b) => b.seq - a.seq);
  const found = jobs[back];
  const job = found ? store.job(found.uid) : undefined;
  if (job) return job;
  const base = stepLabel(current.step, current.kind);
  const earlier = jobs.length - 1;
  throw new RoarError(
    `No job ${formatStepRef(ref)}: step ${base} has ${earlier === 0 ? "no earlier job" : `only ${earlier} earlier job${earlier === 1 ? "" : "s"}`}.`,
    1,
    earlier === 1
      ? `hint: ${base}~1 names it`
      : earlier > 1
        ? `hint: ${base}~1 … ${base}~${earlier} name them`
        : undefined,
  );
}
