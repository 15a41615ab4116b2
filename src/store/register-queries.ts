import type { LineageSource } from "../core/register-lineage.ts";
import type { JobWithIo, SessionRow } from "../core/types.ts";
import type { RoarStore } from "./store.ts";

/** LineageSource over the store: every job that wrote a digest (any kind), a session's build jobs; memoised. */
export function storeLineageSource(store: RoarStore): LineageSource & { job(uid: string): JobWithIo | undefined } {
  const jobs = new Map<string, JobWithIo | undefined>();
  const job = (uid: string) => {
    if (!jobs.has(uid)) jobs.set(uid, store.jobWithIo(uid));
    return jobs.get(uid);
  };
  const withIo = (uids: readonly string[]) => uids.map(job).filter((j): j is JobWithIo => j !== undefined);
  return {
    job,
    producers(blake3: string): JobWithIo[] {
      const rows = store
        .sql("SELECT DISTINCT job_uid FROM job_io WHERE blake3 = ? AND role = 'output'")
        .all(blake3) as { job_uid: string }[];
      return withIo(rows.map((r) => r.job_uid));
    },
    sessionBuilds(sessionId: number): JobWithIo[] {
      const rows = store
        .sql("SELECT uid FROM jobs WHERE session_id = ? AND kind = 'build' ORDER BY seq")
        .all(sessionId) as { uid: string }[];
      return withIo(rows.map((r) => r.uid));
    },
  };
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
