/**
 * What `roar rerun` re-runs: the stale steps (of the whole session, or only those a target step needs — itself
 * and its upstream), in dependency order. Pure: a DAG in, step numbers out.
 */
import { type Dag, upstreamSteps } from "./dag.ts";

/**
 * Stale steps in an order where every step comes after the steps it depends on; among steps free to go, build
 * steps first, then in recording order. A dependency cycle between re-runs cannot be ordered: its steps follow
 * in recording order.
 */
export function rerunPlan(dag: Dag, target?: number): number[] {
  const wanted = new Set(
    target === undefined ? dag.stale : [...upstreamSteps(dag, target), target].filter((s) => dag.stale.has(s)),
  );
  const rank = (step: number): [number, number] => {
    const node = dag.current.get(step);
    return [node?.isBuild ? 0 : 1, node?.job.seq ?? 0];
  };
  const before = (a: number, b: number) => {
    const [ka, sa] = rank(a);
    const [kb, sb] = rank(b);
    return ka - kb || sa - sb;
  };
  const pending = new Map<number, Set<number>>();
  for (const step of wanted) {
    const deps = (dag.current.get(step)?.dependencies ?? []).filter((d) => d !== step && wanted.has(d));
    pending.set(step, new Set(deps));
  }
  const order: number[] = [];
  while (pending.size > 0) {
    let ready = [...pending].filter(([, deps]) => deps.size === 0).map(([step]) => step);
    // A cycle: take its earliest step as if its dependencies were met.
    if (ready.length === 0) ready = [[...pending.keys()].sort(before)[0] as number];
    const next = ready.sort(before)[0] as number;
    order.push(next);
    pending.delete(next);
    for (const deps of pending.values()) deps.delete(next);
  }
  return order;
}
