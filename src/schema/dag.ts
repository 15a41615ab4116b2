/** `roar dag --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

/** Why a step is stale (`cause` decides which other fields are set). */
export const StaleReasonJson = Type.Object({
  cause: Type.Union(
    [
      Type.Literal("upstream"),
      Type.Literal("input"),
      Type.Literal("code"),
      Type.Literal("failed"),
      Type.Literal("upstream-stale"),
    ],
    {
      description:
        "upstream: its producer step now has other bytes where it read them; input: a file it read now holds other bytes; code: a tracked file it read changed since its commit; failed: its latest run failed or was interrupted; upstream-stale: steps it depends on are stale",
    },
  ),
  message: Type.String({ description: "The reason in words, as the text views print it" }),
  path: Type.Optional(Type.String({ description: "The file (upstream, input, code)" })),
  blake3: Type.Optional(Type.String({ description: "The content the step read (upstream, input)" })),
  currentBlake3: Type.Optional(
    Type.Union([Type.String(), Type.Null()], {
      description: "input: what the file holds now (null: not hashed, its size differs)",
    }),
  ),
  producerStep: Type.Optional(Type.Integer({ description: "upstream: the step that wrote it" })),
  commit: Type.Optional(Type.String({ description: "code: the commit the step ran at" })),
  committed: Type.Optional(
    Type.Boolean({ description: "code: the change is committed (false: only in the working tree)" }),
  ),
  steps: Type.Optional(Type.Array(Type.Integer(), { description: "upstream-stale: the stale steps it depends on" })),
  exitCode: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: "failed: the exit status" })),
});

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
  staleReasons: Type.Array(StaleReasonJson, { description: "Why the step is stale (empty when it is not)" }),
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

export type StaleReasonJson = Static<typeof StaleReasonJson>;
export type DagNodeJson = Static<typeof DagNodeJson>;
export type DagArtifactJson = Static<typeof DagArtifactJson>;
export type DagJson = Static<typeof DagJson>;
