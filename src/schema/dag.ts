/** `roar dag --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

export const DagNodeJson = Type.Object({
  step: Type.Integer({ description: "Step number (shared by build and run steps)" }),
  label: Type.String({ description: "@N, or @BN for a build step" }),
  jobUid: Type.String(),
  command: Type.String({ description: "The argv, shell-quoted" }),
  argv: Type.Array(Type.String()),
  name: Type.Union([Type.String(), Type.Null()]),
  state: Type.Union([Type.Literal("active"), Type.Literal("stale"), Type.Literal("superseded")]),
  isBuild: Type.Boolean(),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.String(),
  startedAt: Type.String({ description: "ISO 8601" }),
  inputs: Type.Integer({ description: "Number of inputs" }),
  outputs: Type.Integer({ description: "Number of outputs" }),
  consumed: Type.Integer({ description: "Inputs produced by another step of the session" }),
  dependencies: Type.Array(Type.Integer(), { description: "Producer steps" }),
  staleInputs: Type.Array(Type.Object({ path: Type.String(), blake3: Type.String(), producerStep: Type.Integer() }), {
    description: "Inputs whose producer step no longer writes that content (why the node is directly stale)",
  }),
});

export const DagArtifactJson = Type.Object({
  path: Type.String(),
  blake3: Type.String(),
  size: Type.Union([Type.Integer(), Type.Null()]),
  state: Type.Union([
    Type.Literal("active"),
    Type.Literal("stale"),
    Type.Literal("superseded"),
    Type.Literal("orphaned"),
  ]),
  producerStep: Type.Integer(),
  producerJobUid: Type.String(),
  consumerSteps: Type.Array(Type.Integer()),
  isTerminal: Type.Boolean(),
});

export const DagJson = Type.Object({
  schemaVersion: Type.Integer(),
  sessionId: Type.Union([Type.String(), Type.Null()]),
  totalSteps: Type.Integer(),
  staleCount: Type.Integer(),
  isExpanded: Type.Boolean(),
  nodes: Type.Array(DagNodeJson),
  artifacts: Type.Array(DagArtifactJson),
});

export type DagNodeJson = Static<typeof DagNodeJson>;
export type DagArtifactJson = Static<typeof DagArtifactJson>;
export type DagJson = Static<typeof DagJson>;
