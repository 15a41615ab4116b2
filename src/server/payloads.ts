/**
 * Request bodies of the registry API (reference-behaviour §F.2), as typebox schemas. The original client sends
 * nulls for fields it does not know (job_type, exit_code of a killed job…), so optional fields accept null.
 * A payload that does not fit gets 400 naming the first field at fault.
 */
import Type, { type Static, type TSchema } from "typebox";
import { Compile } from "typebox/compile";

import { MAX_BATCH } from "../registry/limits.ts";

/** Limits that keep one request's work bounded (the body size limit comes first): see registry/limits.ts. */
export { MAX_BATCH };

const TEXT = 1 << 20;

const Opt = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
const Hash = Type.String({ minLength: 8, maxLength: 128, pattern: "^[0-9a-fA-F]+$" });
const Digest = Type.String({ minLength: 1, maxLength: 256, pattern: "^[0-9A-Za-z+/=_.:-]+$" });
const Metadata = Opt(Type.Union([Type.String({ maxLength: TEXT }), Type.Record(Type.String(), Type.Unknown())]));

export const SessionBody = Type.Object({
  hash: Hash,
  git_repo: Opt(Type.String({ maxLength: 4096 })),
  git_commit: Opt(Type.String({ maxLength: 256 })),
  git_branch: Opt(Type.String({ maxLength: 1024 })),
  scope_request: Opt(Type.Unknown()),
});

export const JobBody = Type.Object({
  job_uid: Type.String({ minLength: 1, maxLength: 128, pattern: "^[0-9A-Za-z_-]+$" }),
  command: Type.String({ maxLength: TEXT }),
  timestamp: Opt(Type.Number()),
  git_commit: Opt(Type.String({ maxLength: 256 })),
  git_branch: Opt(Type.String({ maxLength: 1024 })),
  duration_seconds: Opt(Type.Number({ minimum: 0 })),
  exit_code: Opt(Type.Integer()),
  job_type: Opt(Type.String({ maxLength: 64 })),
  step_number: Opt(Type.Integer({ minimum: 0 })),
  metadata: Metadata,
  parent_job_uid: Opt(Type.String({ maxLength: 128 })),
});

export const JobBatchBody = Type.Object({ jobs: Type.Array(JobBody, { maxItems: MAX_BATCH }) });

const HashEntry = Type.Object({ algorithm: Type.String({ minLength: 1, maxLength: 32 }), digest: Digest });

export const ArtifactBody = Type.Object({
  hashes: Type.Array(HashEntry, { minItems: 1, maxItems: 16 }),
  size: Opt(Type.Integer({ minimum: 0 })),
  source_type: Opt(Type.String({ maxLength: 32 })),
  session_hash: Opt(Type.String({ maxLength: 128 })),
  source_url: Opt(Type.String({ maxLength: 4096 })),
  metadata: Metadata,
});

export const ArtifactBatchBody = Type.Object({ artifacts: Type.Array(ArtifactBody, { maxItems: MAX_BATCH }) });

const LinkItem = Type.Object({
  hash: Digest,
  path: Opt(Type.String({ maxLength: 4096 })),
  size: Opt(Type.Integer({ minimum: 0 })),
  source_type: Opt(Type.String({ maxLength: 32 })),
  metadata: Metadata,
  byte_ranges: Opt(Type.Unknown()),
});

export const LinkBody = Type.Object({ artifacts: Type.Array(LinkItem, { maxItems: MAX_BATCH }) });

export const KeyBody = Type.Object({
  user: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._@-]*$" }),
  public_key: Type.String({ minLength: 1, maxLength: 16_384 }),
});

export type SessionInput = Static<typeof SessionBody>;
export type JobInput = Static<typeof JobBody>;
export type ArtifactInput = Static<typeof ArtifactBody>;
export type LinkInput = Static<typeof LinkItem>;
export type KeyInput = Static<typeof KeyBody>;

/** `/jobs/0/command` → `jobs[0].command`. */
function fieldName(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "");
}

export class PayloadError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

interface ValidationError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** The most useful error: a missing property or the deepest field (union branches repeat the same place). */
function describe(errors: ValidationError[]): PayloadError {
  const sorted = [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length);
  const first = sorted.find((e) => e.keyword !== "anyOf") ?? sorted[0];
  if (!first) return new PayloadError("invalid payload", "");
  const base = fieldName(first.instancePath);
  if (first.keyword === "required") {
    const missing = (first.params.requiredProperties as string[] | undefined)?.[0] ?? "?";
    const field = base ? `${base}.${missing}` : missing;
    return new PayloadError(`missing field '${field}'`, field);
  }
  if (first.keyword === "additionalProperties") return new PayloadError(`unexpected field in '${base}'`, base);
  const atPath = sorted.filter((e) => e.instancePath === first.instancePath);
  const nullable = atPath.some((e) => e.keyword === "type" && e.params.type === "null");
  const message = `${first.message}${nullable && first.keyword === "type" ? " or null" : ""}`;
  return new PayloadError(`field '${base || "(body)"}' ${message}`, base);
}

export interface Validator<T> {
  parse(value: unknown): T;
}

export function validator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const compiled = Compile(schema);
  return {
    parse(value: unknown): Static<S> {
      if (compiled.Check(value)) return value as Static<S>;
      throw describe([...compiled.Errors(value)] as ValidationError[]);
    },
  };
}

export const validate = {
  session: validator(SessionBody),
  job: validator(JobBody),
  jobBatch: validator(JobBatchBody),
  artifact: validator(ArtifactBody),
  artifactBatch: validator(ArtifactBatchBody),
  links: validator(LinkBody),
  key: validator(KeyBody),
};
