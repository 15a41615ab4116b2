/** LineageLookup on the store: a couple of indexed queries per job visited. */

import type { LineageJob, LineageLookup } from "../core/lineage.ts";
import type { JobRow } from "../core/types.ts";
import type { RoarStore } from "../store/store.ts";

export function storeLineageLookup(store: RoarStore): LineageLookup {
  const jobs = new Map<string, JobRow | undefined>();
  const jobOf = (uid: string) => {
    if (!jobs.has(uid)) jobs.set(uid, store.job(uid));
    return jobs.get(uid);
  };
  return {
    producersOf(blake3) {
      const links = store.linksOfArtifacts([blake3], "output").get(blake3) ?? [];
      const out: { job: LineageJob; path: string }[] = [];
      for (const l of links) {
        if (l.role !== "output") continue;
        const job = jobOf(l.jobUid);
        if (job) out.push({ job, path: l.path });
      }
      return out;
    },
    ioOf(uid) {
      return store.jobIo(uid);
    },
  };
}
