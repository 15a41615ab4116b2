/** The lineage and plan sources of `roar register` and `roar reproduce` over the store, and a session's current steps. */
import type { LineageSource } from "../core/register-lineage.ts";
import type { PlanSource } from "../core/reproduce.ts";
import type { JobWithIo, SessionRow } from "../core/types.ts";
import type { RoarStore } from "./store.ts";

/** Producers of a digest and a session's build jobs, with their I/O (memoised per job). */
function storeJobSource(store: RoarStore, replayable: boolean) {
  const jobs = new Map<string, JobWithIo | undefined>();
  const job = (uid: string): JobWithIo | undefined => {
    if (!jobs.has(uid)) jobs.set(uid, store.jobWithIo(uid));
    return jobs.get(uid);
  };
  const withIo = (uids: readonly string[]) => uids.map(job).filter((j): j is JobWithIo => j !== undefined);
  return {
    job,
    producers: (blake3: string): JobWithIo[] => withIo(store.producerUids(blake3, { replayable })),
    sessionBuilds: (sessionId: number): JobWithIo[] => withIo(store.sessionJobUids(sessionId, "build")),
  };
}

/** LineageSource over the store: every job that wrote a digest (any kind), a session's build jobs. */
export function storeLineageSource(store: RoarStore): LineageSource & { job(uid: string): JobWithIo | undefined } {
  return storeJobSource(store, false);
}

/** PlanSource over the store. Only run and build steps can be replayed: a get's files are external inputs, a put's objects copies. */
export function storePlanSource(store: RoarStore): PlanSource {
  return storeJobSource(store, true);
}

/** The latest job of every step of a session (run and build steps apart), in recording order. */
export function currentStepJobs(store: RoarStore, session: SessionRow): string[] {
  const latest = new Map<string, { uid: string; seq: number }>();
  for (const j of store.sessionJobSummaries(session.id)) {
    const key = `${j.kind === "build" ? "B" : ""}${j.step}`;
    const prev = latest.get(key);
    if (!prev || prev.seq < j.seq) latest.set(key, { uid: j.uid, seq: j.seq });
  }
  return [...latest.values()].sort((a, b) => a.seq - b.seq).map((j) => j.uid);
}
