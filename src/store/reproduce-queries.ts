import type { PlanSource } from "../core/reproduce.ts";
import type { RoarStore } from "./store.ts";
import type { JobWithIo } from "./types.ts";

/** PlanSource over the store: producers of a digest, with their inputs and outputs (memoised per job). */
export function storePlanSource(store: RoarStore): PlanSource {
  const jobs = new Map<string, JobWithIo>();
  return {
    producers(blake3: string): JobWithIo[] {
      const rows = store
        // Only run and build steps can be replayed: a get's files are external inputs, a put's objects copies.
        .sql(
          `SELECT DISTINCT io.job_uid FROM job_io io JOIN jobs j ON j.uid = io.job_uid
           WHERE io.blake3 = ? AND io.role = 'output' AND j.kind IN ('run', 'build')`,
        )
        .all(blake3) as { job_uid: string }[];
      const out: JobWithIo[] = [];
      for (const { job_uid } of rows) {
        let job = jobs.get(job_uid);
        if (!job) {
          job = store.jobWithIo(job_uid);
          if (job) jobs.set(job_uid, job);
        }
        if (job) out.push(job);
      }
      return out;
    },
  };
}
