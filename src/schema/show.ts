/** `roar show … --json` documents (schemaVersion 1; additive changes only). */
import Type, { type Static } from "typebox";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ShowInputJson = Type.Object({
  path: Type.String(),
  blake3: Nullable(Type.String()),
  size: Nullable(Type.Integer()),
  digests: Type.Optional(Type.Record(Type.String(), Type.String())),
  flags: Type.Integer(),
  changedDuringRun: Type.Boolean(),
  readWrite: Type.Boolean(),
});

export const ShowOutputJson = Type.Object({
  path: Type.String(),
  blake3: Nullable(Type.String()),
  size: Nullable(Type.Integer()),
  digests: Type.Optional(Type.Record(Type.String(), Type.String())),
  flags: Type.Integer(),
  deleted: Type.Optional(Type.Boolean()),
  /** A symbolic link the job made: blake3/size are those of its target text, which `linkTarget` holds. */
  symlink: Type.Optional(Type.Boolean()),
  linkTarget: Type.Optional(Nullable(Type.String())),
  /** Written by a process that was killed by a signal or crashed: the content may be cut short. */
  writerKilled: Type.Optional(Type.Boolean()),
});

/** `roar show @N --json` / `roar show <job-uid> --json`. */
export const ShowJobJson = Type.Object({
  schemaVersion: Type.Integer(),
  type: Type.Literal("job"),
  uid: Type.String(),
  step: Type.Integer(),
  label: Type.String(),
  kind: Type.String(),
  name: Nullable(Type.String()),
  command: Type.Array(Type.String()),
  cwd: Type.String(),
  exitCode: Nullable(Type.Integer()),
  signal: Nullable(Type.Integer()),
  status: Type.String(),
  startedAt: Type.String(),
  durationMs: Type.Number(),
  stepIdentity: Type.String(),
  session: Type.Object({ id: Type.Integer(), uid: Type.String(), active: Type.Boolean() }),
  current: Type.Boolean({ description: "The latest job of its step" }),
  git: Type.Record(Type.String(), Type.Unknown()),
  inputs: Type.Array(ShowInputJson),
  outputs: Type.Array(ShowOutputJson),
  packages: Type.Unknown(),
  runtime: Type.Unknown(),
  env: Type.Unknown(),
  python: Type.Unknown({ description: "Interpreter executed: {executable, version, venv, sitePackages} or null" }),
  hashing: Type.Unknown({ description: "Files hashed for this job and how many came from the hash cache" }),
  trace: Type.Record(Type.String(), Type.Unknown()),
  transfer: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: "get/put jobs: source or destination, message, files [{url, path, blake3}]",
    }),
  ),
});

const LinkJson = Type.Object({
  jobUid: Type.String(),
  step: Type.Integer(),
  label: Type.String(),
  sessionId: Type.Integer(),
  path: Type.String(),
  command: Type.Array(Type.String()),
});

/** `roar show <digest|path> --json`. */
export const ShowArtifactJson = Type.Object({
  schemaVersion: Type.Integer(),
  type: Type.Literal("artifact"),
  blake3: Type.String(),
  size: Type.Integer(),
  digests: Type.Record(Type.String(), Type.String()),
  firstSeenAt: Type.String(),
  firstSeenPath: Nullable(Type.String()),
  locations: Type.Array(Type.String()),
  producedBy: Type.Array(LinkJson),
  consumedBy: Type.Array(LinkJson),
  collection: Type.Optional(
    Type.Object(
      {
        name: Type.String(),
        kind: Type.String(),
        members: Type.Array(Type.Object({ path: Type.String(), blake3: Type.String() })),
      },
      { description: "A directory put or got as a whole: its files (the digest is their composite digest)" },
    ),
  ),
});

/** `roar show --json` / `roar show --session [ID] --json`. */
export const ShowSessionJson = Type.Object({
  schemaVersion: Type.Integer(),
  type: Type.Literal("session"),
  session: Type.Object({
    id: Type.Integer(),
    uid: Type.String(),
    createdAt: Type.String(),
    active: Type.Boolean(),
    gitRepo: Nullable(Type.String()),
    gitCommitStart: Nullable(Type.String()),
  }),
  totalSteps: Type.Integer(),
  jobs: Type.Array(
    Type.Object({
      uid: Type.String(),
      step: Type.Integer(),
      label: Type.String(),
      kind: Type.String(),
      status: Type.String(),
      exitCode: Nullable(Type.Integer()),
      startedAt: Type.String(),
      command: Type.Array(Type.String()),
    }),
  ),
  sessions: Type.Array(
    Type.Object({
      id: Type.Integer(),
      uid: Type.String(),
      createdAt: Type.String(),
      active: Type.Boolean(),
      jobs: Type.Integer(),
    }),
  ),
});

export type ShowJobJson = Static<typeof ShowJobJson>;
export type ShowArtifactJson = Static<typeof ShowArtifactJson>;
export type ShowSessionJson = Static<typeof ShowSessionJson>;
