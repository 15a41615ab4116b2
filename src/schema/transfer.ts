/** `roar get --json` and `roar put --json` documents (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const CollectionJson = Type.Object({
  path: Type.String({ description: "The local directory (stored path)" }),
  url: Nullable(Type.String({ description: "The remote prefix (put)" })),
  blake3: Type.String({ description: "Composite digest: BLAKE3 of the sorted `path\\0blake3\\n` lines" }),
  files: Type.Integer(),
});

const JobRefJson = Type.Object({ uid: Type.String(), step: Type.Integer(), label: Type.String() });

export const GetJson = Type.Object({
  schemaVersion: Type.Integer(),
  source: Type.String({ description: "The URL, without credentials" }),
  dryRun: Type.Boolean(),
  /** null when nothing was recorded (dry run, or every file was already there and recorded). */
  job: Nullable(JobRefJson),
  files: Type.Array(
    Type.Object({
      url: Type.String(),
      path: Type.String(),
      blake3: Nullable(Type.String()),
      size: Nullable(Type.Integer()),
      state: Type.Union([
        Type.Literal("planned"),
        Type.Literal("downloaded"),
        Type.Literal("replaced"),
        Type.Literal("unchanged"),
      ]),
    }),
  ),
  collection: Nullable(CollectionJson),
  tag: Nullable(Type.String()),
});

export const PutJson = Type.Object({
  schemaVersion: Type.Integer(),
  destination: Type.String(),
  dryRun: Type.Boolean(),
  job: Nullable(JobRefJson),
  session: Type.String(),
  files: Type.Array(
    Type.Object({
      path: Type.String(),
      url: Type.String(),
      blake3: Type.String(),
      size: Type.Integer(),
      state: Type.Union([Type.Literal("planned"), Type.Literal("uploaded"), Type.Literal("unchanged")]),
    }),
  ),
  collections: Type.Array(CollectionJson),
  tag: Nullable(Type.String()),
});

export type GetJson = Static<typeof GetJson>;
export type PutJson = Static<typeof PutJson>;
