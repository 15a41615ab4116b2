/** Turning user-typed text (CLI arguments, env vars) into typed config values, with errors that teach. */

import { compileUserRegex } from "../core/secrets.ts";
import { RoarError } from "../shared/errors.ts";
import type { ConfigKey } from "./schema.ts";

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function allowedText(def: ConfigKey): string {
  switch (def.kind) {
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${def.allowed?.join(", ")}`;
    case "list":
      return def.allowed ? `a comma-separated list of ${def.allowed.join(", ")}` : "a comma-separated list";
    case "integer":
      return "a whole number ≥ 0 (sizes may end in K, M or G: 64M = 64 MiB)";
    case "tables":
      return "an array of tables with string keys id and pattern, and optionally description";
    default:
      return def.key.endsWith("url") ? "an http:// or https:// URL (or empty for none)" : "a string";
  }
}

/** Parses `raw` for `def`; `origin` names where it came from (e.g. "ROAR_OUTPUT__QUIET") for the error. */
export function parseConfigValue(def: ConfigKey, raw: string, origin = def.key): unknown {
  let value: unknown;
  switch (def.kind) {
    case "boolean": {
      const lower = raw.trim().toLowerCase();
      if (TRUE.has(lower)) value = true;
      else if (FALSE.has(lower)) value = false;
      else value = raw;
      break;
    }
    case "list":
      value = raw.trim() === "" ? [] : raw.split(",").map((s) => s.trim());
      break;
    case "integer": {
      const m = /^\s*(\d+)\s*([kmg]?)i?b?\s*$/i.exec(raw);
      const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m?.[2] ?? "").toLowerCase()] ?? 1;
      value = m ? Number(m[1]) * unit : raw;
      break;
    }
    case "tables":
      // Only from an environment variable: a JSON array, e.g. [{"id":"x","pattern":"X-[0-9]+"}].
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
      break;
    default:
      value = def.key.endsWith("url") ? raw.replace(/\/+$/, "") : raw;
  }
  checkConfigValue(def, value, origin);
  return value;
}

/**
 * The schema's leaves are booleans, strings (optionally with a pattern), enums and lists of strings: checked
 * directly, because loading typebox's general validator costs more start-up time than every command's work.
 */
function matchesLeaf(def: ConfigKey, value: unknown): boolean {
  switch (def.kind) {
    case "boolean":
      return typeof value === "boolean";
    case "enum":
      return typeof value === "string" && (def.allowed ?? []).includes(value);
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
    case "list":
      return (
        Array.isArray(value) &&
        value.every((v) => typeof v === "string" && (def.allowed === undefined || def.allowed.includes(v)))
      );
    case "tables":
      return Array.isArray(value) && value.every(isPatternTable);
    default: {
      const pattern = (def.schema as { pattern?: string }).pattern;
      return typeof value === "string" && (pattern === undefined || new RegExp(pattern).test(value));
    }
  }
}

/** `{id, pattern, description?}` with string values and no other keys. */
function isPatternTable(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const t = v as Record<string, unknown>;
  return (
    typeof t.id === "string" &&
    typeof t.pattern === "string" &&
    (t.description === undefined || typeof t.description === "string") &&
    Object.keys(t).every((k) => k === "id" || k === "pattern" || k === "description")
  );
}

/** Throws a one-line error unless `value` fits the key's schema (for tables: each regex compiles). */
export function checkConfigValue(def: ConfigKey, value: unknown, origin = def.key): void {
  if (!matchesLeaf(def, value)) {
    const shown = typeof value === "string" ? `'${value}'` : JSON.stringify(value);
    throw new RoarError(`invalid value ${shown} for ${origin}: expected ${allowedText(def)}`);
  }
  if (def.kind === "tables") {
    for (const t of value as { id: string; pattern: string }[]) compileUserRegex(t.pattern, `${origin} (id '${t.id}')`);
  }
}

/** TOML text for one value (strings as basic strings, arrays of strings inline). */
export function tomlValue(value: unknown): string {
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(", ")}]`;
  return tomlString(String(value));
}

export function tomlString(text: string): string {
  // JSON string escapes are valid TOML basic-string escapes, except that TOML forbids raw DEL.
  return JSON.stringify(text).replace(/\x7f/g, "\\u007f");
}

export function formatConfigValue(value: unknown): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    // Arrays of tables (registration.omit.patterns) are listed by id.
    return value.map((v) => (typeof v === "object" && v !== null ? String((v as { id?: unknown }).id) : v)).join(", ");
  }
  if (value === "" || value === undefined || value === null) return "(not set)";
  return String(value);
}
