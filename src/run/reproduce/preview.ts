/** What `roar reproduce` shows before rebuilding (and `--json` prints as `plan`). */

import { networkOf } from "../../core/job-view.ts";
import { planRequirements, type ReproducePlan, type Requirements } from "../../core/reproduce.ts";
import { stepLabel } from "../../core/step.ts";
import type { JobWithIo } from "../../core/types.ts";
import type { Availability, LocatedInput } from "./inputs.ts";

export interface Preview {
  target: { blake3: string; path: string | null };
  /** Where the plan came from: "local" (this project's history) or the registry's URL. */
  origin: string;
  /** What to know about the plan's steps (how registered jobs were read). */
  notes: string[];
  git: { repo: string | null; commit: string | null; patch: string | null };
  python: string | null;
  steps: {
    step: string;
    kind: string;
    uid: string;
    command: string[];
    cwd: string;
    commit: string | null;
    /** Endpoints the step connected to or accepted from: a step that used the network is not self-contained. */
    network?: { op: "connect" | "accept"; address: string }[];
  }[];
  externalInputs: {
    path: string;
    blake3: string;
    size: number | null;
    availability: Availability;
    /** Where its bytes come from: "git", "working tree", "copy at …", ".roar/objects", "in place"; null: nowhere. */
    source: string | null;
  }[];
  requirements: Requirements;
}

/** The job that wrote the target (the last planned step when none did, which cannot happen for a valid plan). */
export function rootJob(plan: ReproducePlan): JobWithIo {
  const root = plan.steps.find((s) => s.outputs.some((o) => o.blake3 === plan.target.blake3));
  return root ?? (plan.steps[plan.steps.length - 1] as JobWithIo);
}

export function buildPreview(
  plan: ReproducePlan,
  inputs: readonly LocatedInput[],
  localRepo: string | null,
  from: { origin: string; notes: string[] } = { origin: "local", notes: [] },
): Preview {
  const git = rootJob(plan).git;
  const requirements = planRequirements(plan.steps);
  return {
    target: plan.target,
    origin: from.origin,
    notes: from.notes,
    git: { repo: git.remoteUrl ?? localRepo, commit: git.commit ?? null, patch: git.patch ?? null },
    python: requirements.python,
    steps: plan.steps.map((s) => {
      const network = networkOf(s.trace);
      return {
        step: stepLabel(s.step, s.kind),
        kind: s.kind,
        uid: s.uid,
        command: s.argv,
        cwd: s.cwd,
        commit: s.git.commit ?? null,
        ...(network.length > 0 ? { network } : {}),
      };
    }),
    externalInputs: inputs.map((e) => ({
      path: e.path,
      blake3: e.blake3,
      size: e.size,
      availability: e.availability,
      source: e.source,
    })),
    requirements,
  };
}
