/**
 * What `roar register <target>` names (reference-behaviour §A.13): nothing (the active session), `@N`/`@BN`, a
 * path or a tracked remote location (`s3://…`), a job uid or unique prefix, an artifact digest or unique prefix,
 * a session hash or unique prefix. A bare hex target is a job uid first, then an artifact, then a session.
 */
import { existsSync } from "node:fs";
import { sessionHash } from "../core/register-lineage.ts";
import { isRemoteUrl } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import type { JobRow, SessionRow } from "../core/types.ts";
import { MIN_ARTIFACT_PREFIX, MIN_JOB_PREFIX, resolveRef } from "../run/resolve-ref.ts";
import { requireActiveSession, resolveStepRefInStore } from "../run/step-refs.ts";
import { RoarError } from "../shared/errors.ts";
import { fsPath, userPath } from "../shared/paths.ts";
import type { RoarStore } from "../store/store.ts";

export type RegisterTarget =
  | { kind: "session"; session: SessionRow; label: string }
  | { kind: "job"; job: JobRow; label: string }
  | { kind: "artifact"; blake3: string; path: string | null; label: string };

const HEX = /^[0-9a-fA-F]+$/;

export async function resolveRegisterTarget(
  store: RoarStore,
  text: string | undefined,
  ctx: { cwd: string; projectRoot: string },
): Promise<RegisterTarget> {
  if (!text) {
    const session = requireActiveSession(store);
    return { kind: "session", session, label: `the current session (${sessionHash(session.uid).slice(0, 12)}…)` };
  }
  if (text.startsWith("@")) {
    const job = resolveStepRefInStore(store, text);
    return { kind: "job", job, label: `${stepLabel(job.step, job.kind)} (job ${job.uid.slice(0, 12)})` };
  }
  const pathLike =
    isRemoteUrl(text) || text.includes("/") || text.startsWith(".") || existsSync(fsPath(userPath(text, ctx.cwd)));
  if (pathLike || !HEX.test(text)) {
    const ref = await resolveRef(store, text, { ...ctx, accept: "artifact" });
    if (ref.kind !== "artifact") throw new RoarError(`${text} is not an artifact`);
    return { kind: "artifact", blake3: ref.blake3, path: ref.path, label: text };
  }
  const hex = text.toLowerCase();
  const jobs = hex.length >= MIN_JOB_PREFIX ? store.jobsByUidPrefix(hex) : [];
  const job = jobs.find((j) => j.uid === hex) ?? (jobs.length === 1 ? jobs[0] : undefined);
  if (job) return { kind: "job", job, label: `${stepLabel(job.step, job.kind)} (job ${job.uid.slice(0, 12)})` };
  if (jobs.length > 1)
    throw ambiguous(
      hex,
      "jobs",
      jobs.map((j) => `${j.uid}  ${stepLabel(j.step, j.kind)}`),
    );
  const artifacts = hex.length >= MIN_ARTIFACT_PREFIX ? store.artifactsByPrefix(hex) : [];
  const artifact = artifacts.find((a) => a.blake3 === hex) ?? (artifacts.length === 1 ? artifacts[0] : undefined);
  if (artifact) return { kind: "artifact", blake3: artifact.blake3, path: null, label: artifact.blake3 };
  if (artifacts.length > 1)
    throw ambiguous(
      hex,
      "artifacts",
      artifacts.map((a) => a.blake3),
    );
  const sessions =
    hex.length >= MIN_ARTIFACT_PREFIX ? store.sessions().filter((s) => sessionHash(s.uid).startsWith(hex)) : [];
  const session = sessions.length === 1 ? sessions[0] : undefined;
  if (session) return { kind: "session", session, label: `session ${sessionHash(session.uid).slice(0, 12)}…` };
  if (sessions.length > 1)
    throw ambiguous(
      hex,
      "sessions",
      sessions.map((s) => sessionHash(s.uid)),
    );
  throw new RoarError(
    `Not found: no job, artifact or session matches '${text}'`,
    1,
    `hint: job uids need ${MIN_JOB_PREFIX}+ hex characters, artifact digests and session hashes ${MIN_ARTIFACT_PREFIX}+; 'roar log' lists jobs`,
  );
}

function ambiguous(hex: string, what: string, candidates: string[]): RoarError {
  const shown = candidates.slice(0, 10).map((c) => `  ${c}`);
  if (candidates.length > shown.length) shown.push(`  … and ${candidates.length - shown.length} more`);
  return new RoarError(
    `ambiguous target '${hex}': ${candidates.length} ${what} match — use a longer prefix`,
    1,
    `candidates:\n${shown.join("\n")}`,
  );
}
