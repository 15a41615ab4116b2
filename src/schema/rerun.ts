/** `roar rerun --dry-run --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";
import { StaleReasonJson } from "./dag.ts";

export const RerunPlanJson = Type.Object({
  schemaVersion: Type.Integer(),
  target: Type.Union([Type.String(), Type.Null()], { description: "The @N or artifact given, if any" }),
  steps: Type.Array(
    Type.Object({
      step: Type.Integer(),
      label: Type.String(),
      command: Type.Array(Type.String(), { description: "The recorded argv it re-runs" }),
      cwd: Type.String({ description: "Recorded working directory, relative to the project ('' = its root)" }),
      reasons: Type.Array(StaleReasonJson),
    }),
    { description: "The stale steps, in the order they would re-run" },
  ),
});

export type RerunPlanJson = Static<typeof RerunPlanJson>;
