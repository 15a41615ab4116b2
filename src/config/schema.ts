/**
 * roar's configuration schema (defined in schema-definition.ts) and what is derived from it: the settable keys,
 * their kinds and defaults.
 */
import type { Static, TSchema } from "typebox";
import { configSchema } from "./schema-definition.ts" with { type: "macro" };

/** The JSON Schema of config.toml: plain data, built with typebox when roar is bundled. */
export const ConfigSchema = configSchema();

export type RoarConfig = Static<typeof ConfigSchema> & { env: Record<string, string> };

/** A settable leaf of the schema, addressed by its dotted key. */
export interface ConfigKey {
  key: string;
  schema: TSchema;
  default: unknown;
  description: string;
  /** `tables`: an array of TOML tables, edited in the file (not settable with `roar config set`). */
  kind: "boolean" | "string" | "enum" | "list" | "integer" | "tables";
  allowed?: string[];
  /** Accepted but not acted on yet, and why (see notYetUsed). */
  notYetUsed?: string;
}

function describeLeaf(key: string, schema: TSchema): ConfigKey {
  const s = schema as Record<string, unknown>;
  const base = {
    key,
    schema,
    default: s.default,
    description: String(s.description ?? ""),
    ...(typeof s.notYetUsed === "string" ? { notYetUsed: s.notYetUsed } : {}),
  };
  if (s.type === "boolean") return { ...base, kind: "boolean" };
  if (s.type === "integer") return { ...base, kind: "integer" };
  if (s.type === "array") {
    const items = s.items as Record<string, unknown>;
    if (items.type === "object") return { ...base, kind: "tables" };
    const allowed = Array.isArray(items.anyOf) ? items.anyOf.map((x: { const: string }) => x.const) : undefined;
    return { ...base, kind: "list", allowed };
  }
  if (Array.isArray(s.anyOf)) {
    return { ...base, kind: "enum", allowed: s.anyOf.map((x: { const: string }) => x.const) };
  }
  return { ...base, kind: "string" };
}

function walk(prefix: string, schema: TSchema, out: ConfigKey[]): void {
  const s = schema as Record<string, unknown>;
  if (s.type === "object" && s.properties) {
    for (const [name, child] of Object.entries(s.properties as Record<string, TSchema>)) {
      walk(prefix ? `${prefix}.${name}` : name, child, out);
    }
    return;
  }
  out.push(describeLeaf(prefix, schema));
}

export const CONFIG_KEYS: readonly ConfigKey[] = (() => {
  const out: ConfigKey[] = [];
  walk("", ConfigSchema, out);
  return out;
})();

export const CONFIG_KEY_MAP: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.key, k]));

/** Top-level tables that are not schema keys but are valid in config files. */
export const FREEFORM_TABLES = new Set(["env"]);
