/**
 * Key-by-key comparison of small structured files (parameters and metrics): JSON, YAML, TOML and CSV/TSV are
 * parsed, flattened to dotted keys (`model.layers`, `items[0].name`; CSV rows as `[row].column`, or by column
 * alone when both versions have one row, as metrics files do) and compared as added / removed / changed keys with their old and new values.
 */
import { parse as parseToml } from "smol-toml";
import { parseYaml } from "./yaml-lite.ts";

export type StructuredFormat = "json" | "yaml" | "toml" | "csv" | "tsv";

/** Files larger than this are never read for a content diff. */
export const MAX_STRUCTURED_BYTES = 1024 * 1024;
/** At most this many key changes are kept per file (the rest are counted). */
export const MAX_KEY_CHANGES = 500;

const EXTENSIONS: Record<string, StructuredFormat> = {
  ".json": "json",
  ".yaml": "yaml",
  ".yml": "yaml",
  ".toml": "toml",
  ".csv": "csv",
  ".tsv": "tsv",
};

/** The last characters of the extensions, either case: most paths of a big job are ruled out by theirs alone. */
const LAST_CHARS = new Set(
  Object.keys(EXTENSIONS).flatMap((e) => [e.at(-1) as string, (e.at(-1) as string).toUpperCase()]),
);

/** The structured format a path's extension names, if any. */
export function structuredFormat(path: string): StructuredFormat | null {
  if (!LAST_CHARS.has(path.charAt(path.length - 1))) return null;
  // The text from the last dot (an end-anchored regex walked every path of a big job to its end).
  const dot = path.lastIndexOf(".");
  return dot < 0 ? null : (EXTENSIONS[path.slice(dot).toLowerCase()] ?? null);
}

/** A scalar leaf: what JSON can carry (TOML dates become their ISO text, non-finite numbers their name). */
export type Leaf = string | number | boolean | null;

export interface KeyChange {
  key: string;
  change: "added" | "removed" | "changed";
  from?: Leaf;
  to?: Leaf;
}

export interface StructuredDiff {
  format: StructuredFormat;
  changes: KeyChange[];
  /** Changes beyond MAX_KEY_CHANGES, not listed. */
  omitted: number;
  /** Keys equal on both sides. */
  unchanged: number;
}

export function parseStructured(text: string, format: StructuredFormat): unknown {
  switch (format) {
    case "json":
      return JSON.parse(text);
    case "yaml":
      return parseYaml(text);
    case "toml":
      return parseToml(text);
    case "csv":
    case "tsv":
      return csvRecords(text, format === "tsv" ? "\t" : ",");
  }
}

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF); numbers stay text unless they look numeric. */
export function parseCsv(text: string, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const src = text.replace(/^\uFEFF/, "");
  while (i < src.length) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
    i++;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

/** Header + rows → one record per row. */
function csvRecords(text: string, delimiter: string): Record<string, Leaf>[] {
  const [header, ...rows] = parseCsv(text, delimiter);
  if (!header) return [];
  const numeric = (v: string): Leaf => (v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v);
  const records = rows.map((r) => {
    const rec: Record<string, Leaf> = {};
    header.forEach((name, i) => {
      rec[name] = numeric(r[i] ?? "");
    });
    // Extra cells beyond the header are kept by position.
    for (let i = header.length; i < r.length; i++) rec[`#${i + 1}`] = numeric(r[i] as string);
    return rec;
  });
  return records;
}

const PLAIN_KEY = /^[A-Za-z0-9_\-/$@]+$/;

function childKey(prefix: string, key: string): string {
  const part = PLAIN_KEY.test(key) ? key : JSON.stringify(key);
  if (prefix === "") return PLAIN_KEY.test(key) ? key : `[${part}]`;
  return PLAIN_KEY.test(key) ? `${prefix}.${key}` : `${prefix}[${part}]`;
}

function toLeaf(value: unknown): Leaf {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Parsed tables (smol-toml's have no prototype), not dates or other class instances. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Nested objects and arrays → `a.b`, `a[0]`; empty containers are leaves (`{}`, `[]`). */
export function flatten(value: unknown, prefix = "", out: Map<string, Leaf> = new Map()): Map<string, Leaf> {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, "[]");
    value.forEach((v, i) => {
      flatten(v, `${prefix}[${i}]`, out);
    });
  } else if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(prefix, "{}");
    for (const [k, v] of entries) flatten(v, childKey(prefix, k), out);
  } else out.set(prefix === "" ? "(value)" : prefix, toLeaf(value));
  return out;
}

function sameLeaf(a: Leaf | undefined, b: Leaf | undefined): boolean {
  return a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));
}

/** Key-by-key changes between two flattened documents, in the order keys appear (old keys first). */
export function diffFlat(a: ReadonlyMap<string, Leaf>, b: ReadonlyMap<string, Leaf>): Omit<StructuredDiff, "format"> {
  const changes: KeyChange[] = [];
  let total = 0;
  let unchanged = 0;
  const push = (c: KeyChange) => {
    total++;
    if (changes.length < MAX_KEY_CHANGES) changes.push(c);
  };
  for (const [key, from] of a) {
    if (!b.has(key)) push({ key, change: "removed", from });
    else if (!sameLeaf(from, b.get(key))) push({ key, change: "changed", from, to: b.get(key) as Leaf });
    else unchanged++;
  }
  for (const [key, to] of b) if (!a.has(key)) push({ key, change: "added", to });
  return { changes, omitted: total - changes.length, unchanged };
}

/** Parses both texts in `format` and compares them; throws (with the parser's message) when one does not parse. */
export function diffStructured(format: StructuredFormat, before: string, after: string): StructuredDiff {
  const parse = (text: string, side: string) => {
    try {
      return parseStructured(text, format);
    } catch (error) {
      throw new Error(`${side} version is not valid ${format.toUpperCase()}: ${(error as Error).message}`);
    }
  };
  let a = parse(before, "old");
  let b = parse(after, "new");
  // Two one-row tables (a metrics file): compare by column rather than as `[0].column`.
  if (
    (format === "csv" || format === "tsv") &&
    Array.isArray(a) &&
    Array.isArray(b) &&
    a.length <= 1 &&
    b.length <= 1
  ) {
    a = a[0] ?? {};
    b = b[0] ?? {};
  }
  return { format, ...diffFlat(flatten(a), flatten(b)) };
}
