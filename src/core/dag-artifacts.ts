/** The artifacts of a session's DAG: what each step has at each path it wrote, and its state. */
import type { ArtifactState, Dag, DagArtifact, DagIo, DagNode } from "./dag.ts";

/** What a step has now: its current job's outputs and those it carries from earlier jobs, with the writer. */
export function stepOutputs(node: DagNode): { io: DagIo; writerUid: string; writerSeq: number }[] {
  const out = node.outputs.map((io) => ({ io, writerUid: node.job.uid, writerSeq: node.job.seq }));
  for (const c of node.carried) out.push({ io: c, writerUid: c.writerUid, writerSeq: c.writerSeq });
  return out;
}

/**
 * Artifacts of the DAG: what current steps have (their current jobs' outputs and the ones carried from earlier
 * jobs), plus, with "all", the other outputs of superseded jobs, marked superseded. "terminal" computes only the
 * outputs of leaf steps, which is all the compact view shows.
 */
export function dagArtifacts(dag: Dag, scope: "all" | "current" | "terminal"): DagArtifact[] {
  const isLeaf = (step: number) => (dag.dependents.get(step)?.size ?? 0) === 0;
  const selected =
    scope === "all"
      ? dag.nodes
      : [...dag.current.values()]
          .filter((n) => scope === "current" || isLeaf(n.step))
          .sort((a, b) => a.job.seq - b.job.seq);
  // (producer step, path produced at) → consumer steps (current jobs only); leaves have none.
  const consumers = new Map<string, Set<number>>();
  if (scope !== "terminal") {
    for (const node of dag.current.values()) {
      for (const e of node.edges) {
        const key = `${e.producerStep}\0${e.producedAt}`;
        const set = consumers.get(key);
        if (set) set.add(node.step);
        else consumers.set(key, new Set([node.step]));
      }
    }
  }
  // path → seq of the latest write among what current steps have (a later step overwriting a path supersedes).
  const wanted = new Set<string>();
  for (const node of selected) for (const o of node.outputs) if (o.blake3) wanted.add(o.path);
  for (const node of selected) if (node.current) for (const o of node.carried) wanted.add(o.path);
  const lastWriter = new Map<string, number>();
  const carriedUids = new Set<string>();
  for (const node of dag.current.values()) {
    for (const { io, writerSeq, writerUid } of stepOutputs(node)) {
      if (writerUid !== node.job.uid) carriedUids.add(`${writerUid}\0${io.path}`);
      if (io.blake3 && wanted.has(io.path) && (lastWriter.get(io.path) ?? -1) < writerSeq) {
        lastWriter.set(io.path, writerSeq);
      }
    }
  }
  const artifacts: DagArtifact[] = [];
  for (const node of selected) {
    const leaf = isLeaf(node.step);
    const stale = dag.stale.has(node.step);
    const outputs = node.current
      ? stepOutputs(node)
      : node.outputs
          // Listed with the current job of the step that still has it.
          .filter((io) => !carriedUids.has(`${node.job.uid}\0${io.path}`))
          .map((io) => ({ io, writerUid: node.job.uid, writerSeq: node.job.seq }));
    for (const { io: o, writerUid, writerSeq } of outputs) {
      if (!o.blake3) continue;
      const consumerSteps =
        node.current && !leaf ? [...(consumers.get(`${node.step}\0${o.path}`) ?? [])].sort((a, b) => a - b) : [];
      let state: ArtifactState;
      if (!node.current) state = "superseded";
      else if (stale) state = "stale";
      else if ((lastWriter.get(o.path) ?? writerSeq) > writerSeq) state = "superseded";
      else if (consumerSteps.length === 0 && !leaf) state = "orphaned";
      else state = "active";
      artifacts.push({
        path: o.path,
        blake3: o.blake3,
        size: o.size,
        producerStep: node.step,
        producerUid: writerUid,
        consumerSteps,
        isTerminal: node.current && leaf,
        state,
        ofCurrent: node.current,
      });
    }
  }
  return artifacts;
}
