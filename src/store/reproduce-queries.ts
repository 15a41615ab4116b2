import type { PlanSource } from "../core/reproduce.ts";
import type { JobWithIo } from "../core/types.ts";
import type { RoarStore } from "./store.ts";

/** PlanSource over the store: producers of a digest and a session's build jobs, with their I/O (memoised per job). */
export function storePlanSource(store: RoarStore): PlanSource {
  const jobs = new Map<string, JobWithIo>();
  const withIo = (uids: readonly string[]): JobWithIo[] => {
    const out: JobWithIo[] = [];
    for (const uid of uids) {
      let job = jobs.get(uid);
      if (!job) {
        job = store.jobWithIo(uid);
        if (job) jobs.set(uid, job);
      }
      if (job) out.push(job);
    }
    return out;
  };
  return {
    producers(blake3: string): JobWithIo[] {
      const rows = store
        // Only run and build steps can be replayed: a get's files are external inputs, a put's objects copies.
        .sql(
          `SELECT DISTINCT io.job_uid FROM job_io io JOIN jobs j ON j.uid = io.job_uid
           WHERE io.blake3 = ? AND io.role = 'output' AND j.kind IN ('run', 'build')`,
        )
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
