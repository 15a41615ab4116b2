/** `roar status --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";
import { StaleReasonJson } from "./dag.ts";

export const TrackedOutputJson = Type.Object({
  path: Type.String(),
  blake3: Type.String(),
  size: Type.Union([Type.Integer(), Type.Null()]),
  step: Type.Integer(),
  label: Type.String(),
  state: Type.Union([Type.Literal("present"), Type.Literal("missing"), Type.Literal("modified")]),
});

export const StatusJson = Type.Object({
  schemaVersion: Type.Integer(),
  session: Type.Object({ id: Type.Integer(), uid: Type.String(), createdAt: Type.String() }),
  jobs: Type.Integer(),
  buildSteps: Type.Integer(),
  runSteps: Type.Integer(),
  staleSteps: Type.Array(Type.Integer()),
  /** Each stale step with the reasons it is stale. */
  stale: Type.Array(Type.Object({ step: Type.Integer(), label: Type.String(), reasons: Type.Array(StaleReasonJson) })),
  outputs: Type.Object({
    tracked: Type.Integer(),
    present: Type.Integer(),
    missing: Type.Integer(),
    modified: Type.Integer(),
  }),
  /** Missing and modified outputs (every tracked output with --all). */
  artifacts: Type.Array(TrackedOutputJson),
});

export type TrackedOutputJson = Static<typeof TrackedOutputJson>;
export type StatusJson = Static<typeof StatusJson>;
