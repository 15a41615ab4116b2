/**
 * Step references (`@3`, `@B2`, `@3~1`) and their resolution to the latest job of that step in the active session
 * (or, with `~K`, the K-th job before it), with the reference tool's error texts.
 */

import { RoarError } from "../shared/errors.ts";
import { stepLabel } from "./step.ts";
import type { JobKind } from "./types.ts";

export interface StepRef {
  step: number;
  build: boolean;
  /** `@N~K`: the K-th job before the step's current one (superseded jobs, newest first); absent for `@N`. */
  back?: number;
}

const STEP_REF = /^@([bB]?)(\d+)(?:~(\d+))?$/;

/** True for anything shaped like a step reference (starts with `@`). */
export function isStepRef(text: string): boolean {
  return text.startsWith("@");
}

/** Parses `@N` / `@BN` (`@bN` too), optionally followed by `~K`; throws a RoarError for other `@…` text. */
export function parseStepRef(text: string): StepRef {
  const m = STEP_REF.exec(text);
  if (!m || Number(m[2]) < 1) {
    throw new RoarError(`Invalid DAG reference '${text}'. Use @N or @BN where N is a number.`);
  }
  const ref: StepRef = { step: Number(m[2]), build: m[1] !== "" };
  if (m[3] !== undefined && Number(m[3]) > 0) ref.back = Number(m[3]);
  return ref;
}

export function formatStepRef(ref: StepRef): string {
  return stepLabel(ref.step, ref.build ? "build" : "run") + (ref.back ? `~${ref.back}` : "");
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

/** `@N` for a step's current job, `@N~K` for the K-th one before it (K = later jobs of the same step). */
export function relativeStepLabel(
  job: Pick<StepJob, "seq" | "step" | "kind">,
  sessionJobs: readonly StepJob[],
): string {
  let later = 0;
  for (const j of sessionJobs) if (j.step === job.step && j.kind === job.kind && j.seq > job.seq) later++;
  return stepLabel(job.step, job.kind) + (later > 0 ? `~${later}` : "");
}
