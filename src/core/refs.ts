/**
 * Step references (`@3`, `@B2`) and their resolution to the latest job of that step in the active session,
 * with the reference tool's error texts.
 */
import type { RoarStore } from "../store/store.ts";
import type { JobKind, JobRow, SessionRow } from "../store/types.ts";
import { RoarError } from "./errors.ts";
import { stepLabel } from "./step.ts";

export interface StepRef {
  step: number;
  build: boolean;
}

const STEP_REF = /^@([bB]?)(\d+)$/;

/** True for anything shaped like a step reference (starts with `@`). */
export function isStepRef(text: string): boolean {
  return text.startsWith("@");
}

/** Parses `@N` / `@BN` (`@bN` too); throws a RoarError for other `@…` text. */
export function parseStepRef(text: string): StepRef {
  const m = STEP_REF.exec(text);
  if (!m || Number(m[2]) < 1) {
    throw new RoarError(`Invalid DAG reference '${text}'. Use @N or @BN where N is a number.`);
  }
  return { step: Number(m[2]), build: m[1] !== "" };
}

export function formatStepRef(ref: StepRef): string {
  return stepLabel(ref.step, ref.build ? "build" : "run");
}

/** What step resolution needs to know about a job. */
export interface StepJob {
  uid: string;
  seq: number;
  step: number;
  kind: JobKind;
}

/**
 * The latest job of the referenced step among `jobs` (one session's jobs). `@N` matches run steps, `@BN` build
 * steps. Throws "No node @N in DAG." (with a hint when the other kind exists).
 */
export function resolveStepRef<J extends StepJob>(jobs: readonly J[], ref: StepRef): J {
  let best: J | undefined;
  let otherKind: J | undefined;
  for (const j of jobs) {
    if (j.step !== ref.step) continue;
    if ((j.kind === "build") === ref.build) {
      if (!best || j.seq > best.seq) best = j;
    } else otherKind = j;
  }
  if (best) return best;
  const hint = otherKind ? `@${ref.build ? "" : "B"}${ref.step} is a ${otherKind.kind} step` : undefined;
  throw new RoarError(`No node ${formatStepRef(ref)} in DAG.`, 1, hint ? `hint: ${hint}` : undefined);
}

/** The active session, or "No active DAG.". */
export function requireActiveSession(store: RoarStore): SessionRow {
  const session = store.activeSession();
  if (!session) throw new RoarError("No active DAG.", 1, "hint: 'roar reset' starts a session");
  return session;
}

/**
 * `@N` / `@BN` text → the latest job of that step in the active session (or `sessionId`), with full details.
 * What `roar run @N` and `roar show @N` call.
 */
export function resolveStepRefInStore(store: RoarStore, text: string, sessionId?: number): JobRow {
  const ref = parseStepRef(text);
  const sid = sessionId ?? requireActiveSession(store).id;
  const job = store.latestJobOfStep(sid, ref.step);
  if (job && (job.kind === "build") === ref.build) return job;
  // Same error text (and hint) as the pure resolver.
  resolveStepRef(job ? [job] : [], ref);
  throw new RoarError(`No node ${formatStepRef(ref)} in DAG.`);
}
