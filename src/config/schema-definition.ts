/**
 * The one schema of roar's configuration, written with typebox. Every leaf carries its default and description;
 * `roar config list`, the commented config.toml template, validation and env-var overrides are all derived from
 * it (src/config/schema.ts). Built when roar is bundled (a Bun macro: schema.ts imports `configSchema` with
 * `{ type: "macro" }`), so that no command pays at start for typebox's modules and the schema's construction
 * (~2 ms together): the program carries the finished JSON Schema as a literal.
 */
import Type, { type TSchema } from "typebox";

const bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
/**
 * A key the original roar has and configs may carry, that this roar reads but does not act on yet: accepted, and
 * shown as such by `roar config list` and `roar config set` (never a setting that silently does nothing).
 */
const notYetUsed = <T extends TSchema>(schema: T, why: string): T => ({ ...schema, notYetUsed: why });
const oneOf = <const T extends readonly string[]>(values: T, def: T[number], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def, description },
  );
const strings = (def: string[], description: string) => Type.Array(Type.String(), { default: def, description });
/** An http(s) URL, or empty for "none". */
const url = (def: string, description: string) =>
  Type.String({ default: def, description, pattern: "^(https?://.+)?$", format: "url" });

export const HASH_ALGORITHMS = ["blake3", "sha256", "sha512", "sha1", "md5"] as const;
export const EXTRA_HASH_ALGORITHMS = ["sha256", "sha512", "sha1", "md5"] as const;
const extraHashes = (def: string[], description: string) =>
  Type.Array(Type.Union(EXTRA_HASH_ALGORITHMS.map((v) => Type.Literal(v))), { default: def, description });

const ConfigSchema = Type.Object({
  output: Type.Object({
    track_repo_files: bool(false, "Include code files of the git repository in provenance"),
    quiet: bool(false, "Suppress the run report (same as output.verbosity = quiet)"),
    verbosity: notYetUsed(
      oneOf(["quiet", "normal", "verbose", "debug"], "normal", "How much roar prints after a run"),
      "only 'quiet' has an effect so far",
    ),
  }),
  analyzers: Type.Object({
    experiment_tracking: notYetUsed(
      bool(true, "Detect W&B / MLflow / Neptune / TensorBoard runs among written files"),
      "experiment-tracking detection is not built yet",
    ),
  }),
  filters: Type.Object({
    ignore_system_reads: bool(true, "Ignore reads under /sys, /etc, /proc, /dev, /usr, /opt, /lib"),
    ignore_package_reads: bool(true, "Ignore reads of installed packages (site-packages, interpreter prefix)"),
    ignore_torch_cache: bool(true, "Ignore the torch inductor / triton caches"),
    ignore_tmp_files: bool(true, "Ignore files under /tmp"),
    ignore_paths: strings([], "Extra paths to ignore (absolute = prefix, relative = substring, '/' = subtree)"),
  }),
  cleanup: Type.Object({
    delete_tmp_writes: notYetUsed(
      bool(false, "Strict mode: track /tmp and delete /tmp files written but never read"),
      "roar never deletes a job's files on its own",
    ),
  }),
  glaas: Type.Object({
    url: url(
      "https://api.glaas.ai",
      "Registry (GLaaS) API that register, auth test and reproduce of an unknown hash talk to; GLAAS_URL when left at its default; empty = no registry",
    ),
    web_url: url(
      "https://glaas.ai",
      "Registry web UI for the session and artifact links register prints; left at its default while glaas.url points elsewhere, the links use glaas.url (a roar server serves its UI there)",
    ),
    key: Type.String({
      default: "",
      description:
        "SSH private key that signs registry requests (ROAR_SSH_KEY wins; empty = ~/.ssh/id_ed25519, id_rsa, id_ecdsa; none = anonymous)",
    }),
  }),
  registration: Type.Object({
    omit: Type.Object({
      enabled: bool(
        true,
        "Redact detected secrets in everything roar prints or registers (command, metadata, git URL, env)",
      ),
      secrets: Type.Object({ values: strings([], "Literal values to redact (shown and registered as <redacted>)") }),
      env_vars: Type.Object({
        names: strings(
          [
            "WANDB_API_KEY",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "DATABASE_URL",
            "AWS_SECRET_ACCESS_KEY",
          ],
          "Environment variables whose values are always redacted",
        ),
      }),
      allowlist: Type.Object({ patterns: strings([], "Regexes whose matches are never redacted") }),
      patterns: Type.Array(
        Type.Object({
          id: Type.String(),
          pattern: Type.String(),
          description: Type.Optional(Type.String()),
        }),
        {
          default: [],
          description:
            "Custom secret detectors: [[registration.omit.patterns]] tables of id, pattern (regex), description",
        },
      ),
    }),
    tagging: Type.Object({
      enabled: bool(
        true,
        "register tags the session's and each job's commit roar/<commit>, and refuses a tree with uncommitted changes",
      ),
      push: bool(false, "register pushes its roar/<commit> tags to origin (so the registry's commits can be cloned)"),
    }),
  }),
  reversible: Type.Object({
    enabled: bool(
      false,
      "Keep what files a job changes or deletes held before it (in .roar/objects), so 'roar pop' can restore them",
    ),
    max_file_size: Type.Integer({
      default: 64 * 1024 * 1024,
      minimum: 0,
      description: "Largest file (bytes; 64M = 64 MiB) whose earlier content reversible.enabled keeps",
    }),
  }),
  hash: Type.Object({
    primary: oneOf(["blake3"], "blake3", "Primary hash algorithm (artifacts are identified by BLAKE3)"),
    run: extraHashes([], "Extra algorithms computed for files recorded by roar run / build"),
    get: extraHashes(["sha256"], "Extra algorithms computed for files downloaded by roar get"),
    put: extraHashes([], "Extra algorithms computed for files uploaded by roar put"),
  }),
  tracer: Type.Object({
    default: oneOf(
      ["auto", "hybrid", "ptrace", "preload"],
      "auto",
      "Tracer backend: auto picks hybrid (preload + ptrace) where ptrace is permitted, else the most complete one here",
    ),
  }),
  logging: Type.Object({
    level: notYetUsed(oneOf(["debug", "info", "warning", "error"], "warning", "Log level"), "roar keeps no log yet"),
    console: notYetUsed(bool(false, "Also log to stderr"), "roar keeps no log yet (ROAR_TIMING=1 profiles a run)"),
    file: notYetUsed(bool(true, "Log to ~/.roar/roar.log"), "roar keeps no log yet"),
  }),
});

/** The schema (a macro: called at build time, its value inlined; see above). */
export function configSchema(): typeof ConfigSchema {
  return ConfigSchema;
}
