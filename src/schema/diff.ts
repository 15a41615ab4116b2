/** `roar diff … --json` (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A scalar value as it appears in a file, the environment or the runtime facts. */
const Leaf = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

export const KeyChangeJson = Type.Object({
  key: Type.String({ description: "Dotted key: `model.layers`, `items[0].name`, `[2].loss` (CSV row 2)" }),
  change: Type.Union([Type.Literal("added"), Type.Literal("removed"), Type.Literal("changed")]),
  from: Type.Optional(Leaf),
  to: Type.Optional(Leaf),
});

export const ContentDiffJson = Type.Object({
  format: Type.String({ description: "json, yaml, toml, csv or tsv" }),
  available: Type.Boolean({ description: "False when either version's bytes could not be read or parsed" }),
  reason: Type.Optional(Type.String({ description: "Why the content is not available" })),
  changes: Type.Array(KeyChangeJson),
  omitted: Type.Integer({ description: "Key changes not listed (beyond the limit)" }),
  unchanged: Type.Integer({ description: "Keys equal on both sides" }),
});

const Digest = Type.Object({ blake3: Nullable(Type.String()), size: Nullable(Type.Integer()) });

export const IoChangeJson = Type.Object({
  path: Type.String(),
  change: Type.Union([Type.Literal("added"), Type.Literal("removed"), Type.Literal("changed")]),
  from: Nullable(Digest),
  to: Nullable(Digest),
  content: Nullable(ContentDiffJson),
});

export const ValueChangeJson = Type.Object({ from: Type.Unknown(), to: Type.Unknown() });

export const OptionChangeJson = Type.Object({
  option: Type.String({ description: "As written: --lr, -n" }),
  change: Type.Union([Type.Literal("added"), Type.Literal("removed"), Type.Literal("changed")]),
  from: Type.Optional(Nullable(Type.String({ description: "null: a flag without value" }))),
  to: Type.Optional(Nullable(Type.String())),
});

export const PackageChangesJson = Type.Object({
  manager: Type.String({ description: "pip or dpkg" }),
  added: Type.Array(Type.Object({ name: Type.String(), version: Type.String() })),
  removed: Type.Array(Type.Object({ name: Type.String(), version: Type.String() })),
  changed: Type.Array(Type.Object({ name: Type.String(), from: Type.String(), to: Type.String() })),
  unchanged: Type.Integer(),
});

export const GitChangesJson = Type.Object({
  commit: Nullable(ValueChangeJson),
  branch: Nullable(ValueChangeJson),
  clean: Nullable(ValueChangeJson),
  remoteUrl: Nullable(ValueChangeJson),
  relation: Type.String({ description: "same, ahead (to descends from from), behind, diverged or unknown" }),
  commits: Type.Array(Type.Object({ commit: Type.String(), subject: Type.String() }), {
    description: "Commits between the two (newest first), on the side that is ahead",
  }),
  commitsTotal: Type.Integer(),
  files: Type.Array(Type.Object({ status: Type.String(), path: Type.String() }), {
    description: "Files that differ between the two commits (git diff --name-status)",
  }),
  patch: Nullable(
    Type.Object({
      from: Nullable(Type.String({ description: "BLAKE3 of the stored uncommitted diff, null when clean" })),
      to: Nullable(Type.String()),
      fromFiles: Type.Array(Type.String()),
      toFiles: Type.Array(Type.String()),
    }),
  ),
});

export const JobChangesJson = Type.Object({
  command: Type.Object({
    changed: Type.Boolean(),
    from: Type.Array(Type.String()),
    to: Type.Array(Type.String()),
    options: Type.Array(OptionChangeJson),
    positional: Type.Array(
      Type.Object({ index: Type.Integer(), from: Nullable(Type.String()), to: Nullable(Type.String()) }),
    ),
  }),
  cwd: Nullable(ValueChangeJson),
  status: Nullable(ValueChangeJson),
  exitCode: Nullable(ValueChangeJson),
  durationMs: ValueChangeJson,
  git: GitChangesJson,
  inputs: Type.Array(IoChangeJson),
  outputs: Type.Array(IoChangeJson),
  unchangedInputs: Type.Integer(),
  unchangedOutputs: Type.Integer(),
  packages: Type.Array(PackageChangesJson),
  python: Type.Array(KeyChangeJson, { description: "executable, version, venv" }),
  env: Type.Array(KeyChangeJson, { description: "The [env] variables injected into the job" }),
  runtime: Type.Array(KeyChangeJson, { description: "OS, CPU, memory, GPU, container facts (dotted keys)" }),
  trace: Type.Array(KeyChangeJson, { description: "backend, complete" }),
});

export const DiffJobJson = Type.Object({
  uid: Type.String(),
  label: Type.String({ description: "@N for a step's current job, @N~K for the K-th job before it" }),
  step: Type.Integer(),
  kind: Type.String(),
  sessionId: Type.Integer(),
  command: Type.Array(Type.String()),
  startedAt: Type.String(),
  status: Type.String(),
  exitCode: Nullable(Type.Integer()),
  durationMs: Type.Number(),
});

export const DiffArtifactJson = Type.Object({
  blake3: Type.String(),
  size: Type.Integer(),
  path: Nullable(Type.String({ description: "The path it was named by or recorded at" })),
  producer: Nullable(Type.String({ description: "Uid of the job that wrote it (null: an external input)" })),
});

export const DiffJson = Type.Object({
  schemaVersion: Type.Integer(),
  type: Type.Literal("diff"),
  kind: Type.Union([Type.Literal("jobs"), Type.Literal("artifacts")]),
  identical: Type.Boolean({ description: "Nothing but uid, time and duration differs" }),
  from: Nullable(DiffJobJson),
  to: Nullable(DiffJobJson),
  artifacts: Nullable(
    Type.Object({
      from: DiffArtifactJson,
      to: DiffArtifactJson,
      content: Nullable(ContentDiffJson),
    }),
  ),
  changes: Nullable(JobChangesJson),
});

export type KeyChangeJson = Static<typeof KeyChangeJson>;
export type ContentDiffJson = Static<typeof ContentDiffJson>;
export type IoChangeJson = Static<typeof IoChangeJson>;
export type OptionChangeJson = Static<typeof OptionChangeJson>;
export type PackageChangesJson = Static<typeof PackageChangesJson>;
export type GitChangesJson = Static<typeof GitChangesJson>;
export type JobChangesJson = Static<typeof JobChangesJson>;
export type DiffJobJson = Static<typeof DiffJobJson>;
export type DiffArtifactJson = Static<typeof DiffArtifactJson>;
export type DiffJson = Static<typeof DiffJson>;
