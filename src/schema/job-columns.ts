/**
 * The JSON columns of a recorded job (`jobs.git`, `jobs.trace`, `jobs.metadata`). The store decodes each once
 * against these schemas; a field of another shape (an old row, a hand edit) is dropped rather than trusted.
 * Every field is optional (a get/put job, or an older roar, records fewer) and unknown keys are kept.
 */
import type { Static, TObject, TSchema } from "typebox";
import type { Compile as CompileSchema } from "typebox/compile";

/**
 * The schemas, built when a job's columns are first decoded, with typebox loaded then: every command loads this
 * module, and loading typebox's modules costs ~1 ms that most (`roar run` among them) have no use for.
 */
function buildSchemas() {
  const Type = (require("typebox") as typeof import("typebox")).default;
  const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
  const Strings = Type.Record(Type.String(), Type.String());

  /** The git state when the job started. */
  const JobGit = Type.Object({
    commit: Type.Optional(Nullable(Type.String())),
    branch: Type.Optional(Nullable(Type.String())),
    remoteUrl: Type.Optional(Nullable(Type.String())),
    /** No change to tracked files when the job started. */
    clean: Type.Optional(Nullable(Type.Boolean())),
    /** Digest of the uncommitted diff (a blob in the store), when the tree was dirty. */
    patch: Type.Optional(Type.String()),
    /** Tracked files that already differed from the commit when the job started. */
    changed: Type.Optional(Type.Array(Type.String())),
  });

  /** How the job was traced. */
  const JobTrace = Type.Object({
    backend: Type.Optional(Type.String()),
    complete: Type.Optional(Type.Boolean()),
    /** Why the record may be incomplete. */
    reasons: Type.Optional(
      Type.Array(
        Type.Object({ reason: Type.String(), detail: Type.Optional(Type.String()), pid: Type.Optional(Type.Number()) }),
      ),
    ),
    processes: Type.Optional(Type.Integer()),
    processList: Type.Optional(
      Type.Array(
        Type.Object({
          pid: Type.Integer(),
          ppid: Type.Optional(Nullable(Type.Integer())),
          exe: Type.Optional(Nullable(Type.String())),
          exitCode: Type.Optional(Nullable(Type.Integer())),
          signal: Type.Optional(Nullable(Type.Integer())),
        }),
      ),
    ),
    /** Endpoints the job talked to: a job that used the network is not self-contained. */
    network: Type.Optional(
      Type.Array(
        Type.Object({ op: Type.Union([Type.Literal("connect"), Type.Literal("accept")]), address: Type.String() }),
      ),
    ),
    coverage: Type.Optional(Type.Unknown()),
  });

  /** The environment of the job, and what a transfer moved. */
  const JobMetadata = Type.Object({
    packages: Type.Optional(Type.Object({ pip: Type.Optional(Strings), dpkg: Type.Optional(Strings) })),
    /** The interpreter executed: {executable, version, venv, sitePackages}, or null. */
    python: Type.Optional(
      Nullable(
        Type.Object({
          executable: Type.Optional(Type.String()),
          version: Type.Optional(Nullable(Type.String())),
          venv: Type.Optional(Nullable(Type.String())),
          sitePackages: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    ),
    /** The machine: {hostname, os: {system, release, version, machine}, cpu, memory, container, gpu, cuda}. */
    runtime: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    env: Type.Optional(Strings),
    skipped: Type.Optional(Type.Integer()),
    /** Files of the repository the job read: a later change to one makes the step stale. */
    codeFiles: Type.Optional(Type.Array(Type.String())),
    hashing: Type.Optional(Type.Unknown()),
    /** get/put jobs: source or destination, message, files [{url, path, blake3}]. */
    transfer: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  });
  return { JobGit, JobTrace, JobMetadata };
}

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;
export function jobColumnSchemas(): Schemas {
  schemas ??= buildSchemas();
  return schemas;
}

/** Unknown keys are kept (a newer roar may record more). */
type Open<T> = T & { [key: string]: unknown };

export type JobGit = Open<Static<Schemas["JobGit"]>>;
export type JobTrace = Open<Static<Schemas["JobTrace"]>>;
export type JobMetadata = Open<Static<Schemas["JobMetadata"]>>;

/**
 * A decoder for a JSON object column: a value that fits `schema` as it is; from an old or damaged row, each field
 * of another shape is dropped (unknown keys stay), and a value that is not an object is {}. Compiled on first use.
 */
function objectDecoder<T>(schemaOf: () => TObject): (value: unknown) => T {
  let checks: { whole: (value: unknown) => boolean; fields: [string, (value: unknown) => boolean][] } | undefined;
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return {} as T;
    if (!checks) {
      // typebox's validator compiler, loaded when a column is first decoded: its modules cost every command
      // ~1 ms at start, and most (`roar run` among them) never decode one.
      const { Compile } = require("typebox/compile") as { Compile: typeof CompileSchema };
      const schema = schemaOf();
      const whole = Compile(schema);
      checks = {
        whole: (v) => whole.Check(v),
        fields: Object.entries(schema.properties).map(([key, field]) => {
          const compiled = Compile(field);
          return [key, (v: unknown) => compiled.Check(v)];
        }),
      };
    }
    if (checks.whole(value)) return value as T;
    const kept: Record<string, unknown> = { ...value };
    for (const [key, fits] of checks.fields) if (key in kept && !fits(kept[key])) delete kept[key];
    return kept as T;
  };
}

export const decodeJobGit = objectDecoder<JobGit>(() => jobColumnSchemas().JobGit);
export const decodeJobTrace = objectDecoder<JobTrace>(() => jobColumnSchemas().JobTrace);
export const decodeJobMetadata = objectDecoder<JobMetadata>(() => jobColumnSchemas().JobMetadata);
