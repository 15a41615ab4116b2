/** `roar log --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

export const LogJson = Type.Object({
  schemaVersion: Type.Integer(),
  sessionId: Type.String(),
  total: Type.Integer({ description: "Jobs in the session" }),
  jobs: Type.Array(
    Type.Object({
      uid: Type.String(),
      step: Type.Integer(),
      label: Type.String(),
      kind: Type.String(),
      startedAt: Type.String(),
      durationMs: Type.Number(),
      exitCode: Type.Union([Type.Integer(), Type.Null()]),
      status: Type.String(),
      ok: Type.Boolean(),
      command: Type.Array(Type.String()),
    }),
    { description: "Newest first" },
  ),
});

export type LogJson = Static<typeof LogJson>;
