/** The shapes of a session's pipeline graph (built by buildDag in dag.ts, which describes them). */
import type { JobKind, JobStatus } from "./types.ts";

export interface DagJob {
  uid: string;
  seq: number;
  step: number;
  kind: JobKind;
  name: string | null;
  argv: string[];
  /** Recorded working directory, relative to the project ('' = its root). */
  cwd?: string;
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
  /** Changes made outside roar, by job uid (found on disk and in git by run/freshness.ts); only current jobs count. */
  changes?: ReadonlyMap<string, readonly ExternalChange[]>;
}

/** A change roar did not make to something a job read. */
export type ExternalChange =
  /** The file it read now holds other bytes (edited, regenerated, replaced); `current` null: not hashed. */
  | { cause: "input"; path: string; blake3: string; current: string | null }
  /** A tracked file it read (its script, a config) differs between the job's commit and HEAD or the working tree. */
  | { cause: "code"; path: string; commit: string; committed: boolean };

/** Why a step is stale. */
export type StaleReason =
  /** Its producer step now has other bytes (or none) where the consumed content was written. */
  | { cause: "upstream"; path: string; blake3: string; producerStep: number }
  | ExternalChange
  /** Its latest run did not succeed (failed or interrupted): the step still has to be run. */
  | { cause: "failed"; status: JobStatus; exitCode: number | null }
  /** Only because steps it depends on are stale. */
  | { cause: "upstream-stale"; steps: number[] };

/** An output of an earlier job of the step that its later jobs did not rewrite: still the step's. */
export interface CarriedOutput extends DagIo {
  writerUid: string;
  writerSeq: number;
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
  /** Edges whose content the producer step no longer has (one reason the node is directly stale). */
  staleEdges: InputEdge[];
  /** Current jobs: outputs of earlier jobs of the step that this job did not rewrite or delete. */
  carried: CarriedOutput[];
  /** Current stale jobs: why (direct reasons first, then the stale steps upstream). */
  reasons: StaleReason[];
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
  /** One of the outputs the producer step has now (its current job's, or carried from an earlier job). */
  ofCurrent: boolean;
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
