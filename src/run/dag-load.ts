/** Reads one session from the store into the plain objects dag.ts builds its graph from (two queries). */

import { buildDag, type Dag } from "../core/dag.ts";
import type { RoarStore } from "../store/store.ts";

export function loadSessionDag(store: RoarStore, sessionId: number): Dag {
  const jobs = store.sessionJobSummaries(sessionId);
  const io = store.sessionIoUnordered(sessionId);
  return buildDag({ jobs, io });
}
