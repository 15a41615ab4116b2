/**
 * Staleness questions `roar run` asks around a job (the graph itself is built in dag.ts).
 */
import { type Dag, downstreamSteps, labelOf, upstreamSteps } from "./dag.ts";

/**
 * Stale steps upstream of `step`: re-running `step` alone would consume outdated data from them. Empty when the
 * step is fresh, or stale only because a direct producer was re-run (re-running `step` fixes that).
 */
export function upstreamStaleSteps(dag: Dag, step: number): number[] {
  return upstreamSteps(dag, step).filter((s) => dag.stale.has(s));
}

export interface StaleWarnings {
  /** Producer steps whose current job no longer writes what this job consumed. */
  consumedStaleFrom: number[];
  /** Steps downstream of this job's step that are now stale. */
  staleDownstream: number[];
}

/** What to warn about after recording the job `uid` (compare the reference's post-run warnings). */
export function staleWarnings(dag: Dag, uid: string): StaleWarnings {
  const node = dag.nodes.find((n) => n.job.uid === uid);
  if (!node) return { consumedStaleFrom: [], staleDownstream: [] };
  const consumedStaleFrom = [...new Set(node.staleEdges.map((e) => e.producerStep))].sort((a, b) => a - b);
  const staleDownstream = downstreamSteps(dag, node.step).filter((s) => dag.stale.has(s));
  return { consumedStaleFrom, staleDownstream };
}

/** "@1, @B2" */
export function stepList(dag: Dag, steps: readonly number[]): string {
  return steps.map((s) => labelOf(dag, s)).join(", ");
}
