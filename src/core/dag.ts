/**
 * The pipeline of one session as a graph of steps, built from plain job rows (no I/O here).
 *
 * - A **step** groups the session's jobs with one step number; its latest job (highest seq) is current, the
 *   earlier ones are superseded.
 * - An **edge** runs from the job that produced an artifact (by BLAKE3 digest) to each later job that consumed
 *   it; the path is an attribute of the link, so a file renamed or copied between two steps keeps its edge.
 *   The producer of a consumed digest is the latest job of *another* step, recorded before the consumer, that
 *   wrote that digest.
 * - A step is **directly stale** when its current job consumed a digest that its producer step's current job no
 *   longer writes at the path where it was produced (it wrote something else there, or nothing); staleness
 *   propagates to every step downstream of a stale step.
 */
import { IoFlags } from "../store/schema.ts";
import type { JobKind, JobStatus } from "../store/types.ts";
import { stepLabel } from "./step.ts";

export interface DagJob {
  uid: string;
  seq: number;
  step: number;
  kind: JobKind;
  name: string | null;
  argv: string[];
  startedAt: number;
  durationMs: number;
  exitCode: number | null;
  status: JobStatus;
}

export interface DagIo {
  path: string;
  /** null: deleted by the job. */
  blake3: string | null;
  size: number | null;
  flags: number;
}

export interface DagSource {
  jobs: readonly DagJob[];
  io: ReadonlyMap<string, { inputs: readonly DagIo[]; outputs: readonly DagIo[] }>;
}

export type NodeState = "active" | "stale" | "superseded";
export type ArtifactState = "active" | "stale" | "superseded" | "orphaned";

/** One consumed input traced back to the job that produced its content. */
export interface InputEdge {
  /** Path the consumer read it at. */
  path: string;
  blake3: string;
  producerStep: number;
  producerUid: string;
  /** Path the producer wrote it at (differs from `path` after a rename or copy). */
  producedAt: string;
}

export interface DagNode {
  job: DagJob;
  step: number;
  label: string;
  isBuild: boolean;
  /** The latest job of its step. */
  current: boolean;
  state: NodeState;
  inputs: readonly DagIo[];
  outputs: readonly DagIo[];
  /** Inputs produced by another step of this session. */
  edges: InputEdge[];
  /** Producer steps, ascending. */
  dependencies: number[];
  /** Edges whose content the producer step's current job no longer writes (why the node is directly stale). */
  staleEdges: InputEdge[];
}

export interface DagArtifact {
  path: string;
  blake3: string;
  size: number | null;
  producerStep: number;
  producerUid: string;
  consumerSteps: number[];
  /** The producer step is a leaf: no other step consumes any of its outputs. */
  isTerminal: boolean;
  state: ArtifactState;
}

export interface Dag {
  /** Distinct step numbers, ascending. */
  steps: number[];
  /** Every job as a node, in recording order. */
  nodes: DagNode[];
  /** Step → its jobs, oldest first. */
  byStep: Map<number, DagNode[]>;
  /** Step → its current (latest) job. */
  current: Map<number, DagNode>;
  /** Step → steps whose current job consumes its outputs. */
  dependents: Map<number, Set<number>>;
  directlyStale: Set<number>;
  stale: Set<number>;
  /** Outputs of every job (superseded jobs' outputs marked superseded); computed on first use. */
  readonly artifacts: DagArtifact[];
}

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
      // Fresh when the producer step's current job wrote these bytes at that same path.
      const cur = current.get(producer.step);
      let fresh = false;
      for (let m = first; m >= 0; m = occPrev[m] as number) {
        if (nodes[occNode[m] as number] === cur && occPath[m] === producedAt) {
          fresh = true;
          break;
        }
      }
      if (!fresh) node.staleEdges.push(edge);
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

/**
 * Artifacts of the DAG: outputs of current jobs (plus, with "all", the outputs of superseded jobs, marked
 * superseded). "terminal" computes only the outputs of leaf steps, which is all the compact view shows.
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
  // path → seq of the latest current job writing it (a later step overwriting a path supersedes the earlier one).
  const wanted = new Set<string>();
  for (const node of selected) for (const o of node.outputs) if (o.blake3) wanted.add(o.path);
  const lastWriter = new Map<string, number>();
  for (const node of dag.current.values()) {
    for (const o of node.outputs) {
      if (o.blake3 && wanted.has(o.path) && (lastWriter.get(o.path) ?? -1) < node.job.seq) {
        lastWriter.set(o.path, node.job.seq);
      }
    }
  }
  const artifacts: DagArtifact[] = [];
  for (const node of selected) {
    const leaf = isLeaf(node.step);
    const stale = dag.stale.has(node.step);
    for (const o of node.outputs) {
      if (!o.blake3) continue;
      const consumerSteps =
        node.current && !leaf ? [...(consumers.get(`${node.step}\0${o.path}`) ?? [])].sort((a, b) => a - b) : [];
      let state: ArtifactState;
      if (!node.current) state = "superseded";
      else if (stale) state = "stale";
      else if ((lastWriter.get(o.path) ?? node.job.seq) > node.job.seq) state = "superseded";
      else if (consumerSteps.length === 0 && !leaf) state = "orphaned";
      else state = "active";
      artifacts.push({
        path: o.path,
        blake3: o.blake3,
        size: o.size,
        producerStep: node.step,
        producerUid: node.job.uid,
        consumerSteps,
        isTerminal: node.current && leaf,
        state,
      });
    }
  }
  return artifacts;
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
