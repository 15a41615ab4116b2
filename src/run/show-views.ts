/** The documents of `roar show` for an artifact and a session, from the store (before presentation). */
import { stepLabel } from "../core/step.ts";
import type { ArtifactRow, SessionRow } from "../core/types.ts";
import type { ShowArtifactJson, ShowSessionJson } from "../schema/show.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError } from "../shared/errors.ts";
import type { RoarStore } from "../store/store.ts";

const isoTime = (ms: number) => new Date(ms).toISOString();

/** An artifact: where it was seen, which jobs produced and consumed it, the directory it stands for. */
export function artifactView(store: RoarStore, blake3: string): { artifact: ArtifactRow; view: ShowArtifactJson } {
  const artifact = store.artifact(blake3);
  if (!artifact) throw new RoarError(`Artifact not found: ${blake3}`);
  const links = store.artifactLinks(blake3);
  const link = (l: (typeof links)[number]) => ({
    jobUid: l.job.uid,
    step: l.job.step,
    label: stepLabel(l.job.step, l.job.kind),
    sessionId: l.job.sessionId,
    path: l.path,
    command: l.job.argv,
  });
  // The first place this directory was recorded (an upload's prefix, or a download's directory).
  const collection = store.collectionsByDigest(blake3).at(-1);
  const view: ShowArtifactJson = {
    schemaVersion: JSON_SCHEMA_VERSION,
    type: "artifact",
    blake3: artifact.blake3,
    size: artifact.size,
    digests: artifact.digests,
    firstSeenAt: isoTime(artifact.firstSeenAt),
    firstSeenPath: artifact.firstSeenPath,
    locations: [...new Set(links.map((l) => l.path))],
    producedBy: links.filter((l) => l.role === "output").map(link),
    consumedBy: links.filter((l) => l.role === "input").map(link),
    ...(collection
      ? { collection: { name: collection.name, kind: collection.kind, members: collection.members } }
      : {}),
  };
  return { artifact, view };
}

/** A session: its jobs in order, and every session with its job count. */
export function sessionView(store: RoarStore, session: SessionRow): ShowSessionJson {
  const jobs = store.sessionJobSummaries(session.id);
  const counts = store.sessionJobCounts();
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    type: "session",
    session: {
      id: session.id,
      uid: session.uid,
      createdAt: isoTime(session.createdAt),
      active: session.active,
      gitRepo: session.gitRepo,
      gitCommitStart: session.gitCommitStart,
    },
    totalSteps: new Set(jobs.map((j) => j.step)).size,
    jobs: jobs.map((j) => ({
      uid: j.uid,
      step: j.step,
      label: stepLabel(j.step, j.kind),
      kind: j.kind,
      status: j.status,
      exitCode: j.exitCode,
      startedAt: isoTime(j.startedAt),
      command: j.argv,
    })),
    sessions: store.sessions().map((x) => ({
      id: x.id,
      uid: x.uid,
      createdAt: isoTime(x.createdAt),
      active: x.active,
      jobs: counts.get(x.id) ?? 0,
    })),
  };
}

/** A session by number or unique uid prefix; an unknown or ambiguous one is an error listing the candidates. */
export function findSession(store: RoarStore, id: string, describe: (session: SessionRow) => string): SessionRow {
  if (/^\d+$/.test(id)) {
    const byNumber = store.sessionById(Number(id));
    if (byNumber) return byNumber;
  }
  const matches = store.sessionsByUidPrefix(id.toLowerCase());
  if (matches.length === 1) return matches[0] as SessionRow;
  if (matches.length === 0)
    throw new RoarError(`No session matches '${id}'`, 1, `sessions:\n${store.sessions().map(describe).join("\n")}`);
  throw new RoarError(
    `ambiguous session '${id}': ${matches.length} matches`,
    1,
    `candidates:\n${matches.map((x) => `  #${x.id}  ${x.uid}`).join("\n")}`,
  );
}
