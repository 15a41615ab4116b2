/** Reads one session from the store into the plain objects dag.ts builds its graph from. */

import { buildDag, currentJobs, type Dag } from "../core/dag.ts";
import type { RoarStore } from "../store/store.ts";

/** The whole session: every job with its inputs and outputs (two queries). */
export function loadSessionDag(store: RoarStore, sessionId: number): Dag {
  const jobs = store.sessionJobSummaries(sessionId);
  const io = store.sessionIoUnordered(sessionId);
  return buildDag({ jobs, io });
}

/**
 * The session for judging staleness only (the notes after a run): every job's outputs, but only the current jobs'
 * inputs. Staleness and dependents come from current jobs alone; what superseded jobs read decides nothing, and in
 * a session of re-runs it is most of the rows. (Superseded nodes come without edges.)
 */
export function loadStalenessDag(store: RoarStore, sessionId: number): Dag {
  const jobs = store.sessionJobSummaries(sessionId);
  const io = store.sessionIoUnordered(sessionId, new Set(currentJobs(jobs).map((j) => j.uid)));
  return buildDag({ jobs, io });
}
