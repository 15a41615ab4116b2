/**
 * The pipeline of one session as a graph of steps, built from plain job rows (no I/O here).
 *
 * - A **step** groups the session's jobs with one step number; its latest job (highest seq) is current, the
 *   earlier ones are superseded.
 * - An **edge** runs from the job that produced an artifact (by BLAKE3 digest) to each later job that consumed
 *   it; the path is an attribute of the link, so a file renamed or copied between two steps keeps its edge.
 *   The producer of a consumed digest is the latest job of *another* step, recorded before the consumer, that
 *   wrote that digest.
 * - A step's **outputs** are, per path, what the latest of its jobs that wrote (or deleted) that path left there:
 *   a re-run that writes nothing at a path (`make: Nothing to be done`) keeps the earlier job's content current.
 * - A step is **directly stale** when its current job consumed a digest that its producer step no longer has at
 *   the path where it was produced (a re-run wrote other bytes there, or deleted it), or when a change roar did
 *   not make touched what it read (`DagSource.changes`: a file now holding other bytes, a tracked file changed
 *   since the job's commit), or when its latest run failed; staleness propagates to every step downstream of a
 *   stale step.
 */

import { dagArtifacts } from "./dag-artifacts.ts";
import type { Dag, DagArtifact, DagIo, DagNode, DagSource, InputEdge } from "./dag-types.ts";
import { IoFlags } from "./io-flags.ts";
import { stepLabel } from "./step.ts";

// The shapes live in dag-types.ts; importers of this module keep finding them here.
export type {
  ArtifactState,
  CarriedOutput,
  Dag,
  DagArtifact,
  DagIo,
  DagJob,
  DagNode,
  DagSource,
  ExternalChange,
  InputEdge,
  NodeState,
  StaleReason,
} from "./dag-types.ts";

const EMPTY_IO = { inputs: [] as readonly DagIo[], outputs: [] as readonly DagIo[] };

export function buildDag(source: DagSource): Dag {
  const jobs = [...source.jobs].sort((a, b) => a.seq - b.seq);
  const nodes: DagNode[] = [];
  const byStep = new Map<number, DagNode[]>();
  for (const job of jobs) {
    const io = source.io.get(job.uid) ?? EMPTY_IO;
    const node: DagNode = {
      job,
      step: job.step,
      label: stepLabel(job.step, job.kind),
      isBuild: job.kind === "build",
      current: false,
      state: "active",
      inputs: io.inputs,
      outputs: io.outputs,
      edges: [],
      dependencies: [],
      staleEdges: [],
      carried: [],
      reasons: [],
    };
    nodes.push(node);
    const list = byStep.get(job.step);
    if (list) list.push(node);
    else byStep.set(job.step, [node]);
  }
  const current = new Map<number, DagNode>();
  for (const [step, list] of byStep) {
    const last = list[list.length - 1] as DagNode;
    last.current = true;
    current.set(step, last);
  }
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  // What each step has at each path it wrote: the latest of its jobs that wrote or deleted the path. Built on
  // first use (only producers of consumed content are asked); carried outputs only exist for re-run steps.
  const stepOutputs = new Map<number, Map<string, string | null>>();
  const outputsOfStep = (step: number): Map<string, string | null> => {
    let byPath = stepOutputs.get(step);
    if (byPath) return byPath;
    byPath = new Map();
    const list = byStep.get(step) ?? [];
    for (let k = list.length - 1; k >= 0; k--)
      for (const o of (list[k] as DagNode).outputs) if (!byPath.has(o.path)) byPath.set(o.path, o.blake3);
    stepOutputs.set(step, byPath);
    return byPath;
  };
  for (const list of byStep.values()) {
    if (list.length < 2) continue;
    const cur = list[list.length - 1] as DagNode;
    const seen = new Set(cur.outputs.map((o) => o.path));
    for (let k = list.length - 2; k >= 0; k--) {
      const node = list[k] as DagNode;
      for (const o of node.outputs) {
        if (seen.has(o.path)) continue;
        seen.add(o.path);
        if (o.blake3) cur.carried.push({ ...o, writerUid: node.job.uid, writerSeq: node.job.seq });
      }
    }
  }

  // Every output occurrence, by digest: a linked list from the latest occurrence back (nodes are in seq order).
  const head = new Map<string, number>();
  const occNode: number[] = [];
  const occPath: string[] = [];
  const occPrev: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    for (const out of (nodes[i] as DagNode).outputs) {
      // A remote object a put job uploaded is not what a later job reads here: never its producer.
      if (!out.blake3 || (out.flags & IoFlags.REMOTE) !== 0) continue;
      occPrev.push(head.get(out.blake3) ?? -1);
      head.set(out.blake3, occNode.length);
      occNode.push(i);
      occPath.push(out.path);
    }
  }

  const dependents = new Map<number, Set<number>>();
  const directlyStale = new Set<number>();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as DagNode;
    if (node.inputs.length === 0) continue;
    let deps: number[] | undefined;
    for (const input of node.inputs) {
      if (!input.blake3) continue;
      const first = head.get(input.blake3);
      if (first === undefined) continue;
      // The producer: the latest job of another step recorded before this one that wrote these bytes.
      let k = first;
      let producer: DagNode | undefined;
      for (; k >= 0; k = occPrev[k] as number) {
        const j = occNode[k] as number;
        if (j < i && (nodes[j] as DagNode).step !== node.step) {
          producer = nodes[j] as DagNode;
          break;
        }
      }
      if (!producer) continue;
      const producedAt = occPath[k] as string;
      const edge: InputEdge = {
        path: input.path,
        blake3: input.blake3,
        producerStep: producer.step,
        producerUid: producer.job.uid,
        producedAt,
      };
      node.edges.push(edge);
      if (!deps) deps = [producer.step];
      else if (!deps.includes(producer.step)) deps.push(producer.step);
      // Fresh when the producer step still has these bytes at that same path.
      if (outputsOfStep(producer.step).get(producedAt) !== input.blake3) node.staleEdges.push(edge);
    }
    if (!deps) continue;
    node.dependencies = deps.length > 1 ? deps.sort((a, b) => a - b) : deps;
    if (!node.current) continue;
    for (const d of deps) {
      const set = dependents.get(d);
      if (set) set.add(node.step);
      else dependents.set(d, new Set([node.step]));
    }
    if (node.staleEdges.length > 0) directlyStale.add(node.step);
  }
  for (const node of current.values()) {
    if (node.job.status !== "ok") {
      node.reasons.push({ cause: "failed", status: node.job.status, exitCode: node.job.exitCode });
      directlyStale.add(node.step);
    }
    for (const e of node.staleEdges)
      node.reasons.push({ cause: "upstream", path: e.path, blake3: e.blake3, producerStep: e.producerStep });
    const changes = source.changes?.get(node.job.uid) ?? [];
    node.reasons.push(...changes);
    if (changes.length > 0) directlyStale.add(node.step);
  }

  const stale = new Set(directlyStale);
  const queue = [...directlyStale];
  while (queue.length > 0) {
    const step = queue.pop() as number;
    for (const d of dependents.get(step) ?? []) {
      if (!stale.has(d)) {
        stale.add(d);
        queue.push(d);
      }
    }
  }
  for (const node of nodes) node.state = !node.current ? "superseded" : stale.has(node.step) ? "stale" : "active";
  for (const step of stale) {
    const node = current.get(step) as DagNode;
    const upstream = node.dependencies.filter((d) => d !== step && stale.has(d));
    if (upstream.length > 0) node.reasons.push({ cause: "upstream-stale", steps: upstream });
  }

  let artifacts: DagArtifact[] | undefined;
  const dag: Dag = {
    steps,
    nodes,
    byStep,
    current,
    dependents,
    directlyStale,
    stale,
    // Computed on first use: most views need only the terminal ones (see dagArtifacts).
    get artifacts(): DagArtifact[] {
      artifacts ??= dagArtifacts(dag, "all");
      return artifacts;
    },
  };
  return dag;
}

/** The latest job (highest seq) of each step: its current one. */
export function currentJobs<J extends { step: number; seq: number }>(jobs: readonly J[]): J[] {
  const latest = new Map<number, J>();
  for (const j of jobs) {
    const prev = latest.get(j.step);
    if (!prev || prev.seq < j.seq) latest.set(j.step, j);
  }
  return [...latest.values()];
}

/** Steps upstream of `step` (transitively, through current jobs), ascending. */
export function upstreamSteps(dag: Dag, step: number): number[] {
  const seen = new Set<number>();
  const queue = [...(dag.current.get(step)?.dependencies ?? [])];
  while (queue.length > 0) {
    const s = queue.pop() as number;
    if (seen.has(s) || s === step) continue;
    seen.add(s);
    queue.push(...(dag.current.get(s)?.dependencies ?? []));
  }
  return [...seen].sort((a, b) => a - b);
}

/** Steps downstream of `step` (transitively), ascending. */
export function downstreamSteps(dag: Dag, step: number): number[] {
  const seen = new Set<number>();
  const queue = [...(dag.dependents.get(step) ?? [])];
  while (queue.length > 0) {
    const s = queue.pop() as number;
    if (seen.has(s) || s === step) continue;
    seen.add(s);
    queue.push(...(dag.dependents.get(s) ?? []));
  }
  return [...seen].sort((a, b) => a - b);
}

/** `@N` / `@BN` of a step (by its current job's kind). */
export function labelOf(dag: Dag, step: number): string {
  const node = dag.current.get(step);
  return node ? node.label : `@${step}`;
}
