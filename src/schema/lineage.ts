/** `roar lineage --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const LineageJson = Type.Object({
  schemaVersion: Type.Integer(),
  artifact: Type.Object({ path: Nullable(Type.String()), blake3: Type.String(), size: Nullable(Type.Integer()) }),
  producerUid: Nullable(Type.String()),
  depth: Type.Integer(),
  truncated: Type.Boolean(),
  jobs: Type.Array(
    Type.Object({
      uid: Type.String(),
      step: Type.Integer(),
      label: Type.String(),
      sessionId: Type.Integer(),
      kind: Type.String(),
      name: Nullable(Type.String()),
      command: Type.Array(Type.String()),
      startedAt: Type.String(),
      durationMs: Type.Number(),
      exitCode: Nullable(Type.Integer()),
      status: Type.String(),
      depth: Type.Integer(),
      inputs: Type.Array(
        Type.Object({ path: Type.String(), blake3: Type.String(), producerUid: Nullable(Type.String()) }),
      ),
      outputs: Type.Array(Type.Object({ path: Type.String(), blake3: Type.String() })),
    }),
  ),
  artifacts: Type.Array(
    Type.Object({
      path: Type.String(),
      blake3: Type.String(),
      size: Nullable(Type.Integer()),
      producerUid: Nullable(Type.String()),
      depth: Type.Integer(),
    }),
  ),
});

export type LineageJson = Static<typeof LineageJson>;
