/**
 * Search and browsing. Filters combine (AND): free text, command text, a path glob, a package, a GPU, a file type,
 * the user, a time range. Jobs match on their own fields and on the paths they read or wrote; artifacts match
 * through the jobs that read or wrote them. Text matching is case-insensitive everywhere.
 */
import { num, type SqlExecutor, type SqlValue } from "../db/sql.ts";
import { RegistryError } from "./errors.ts";
import { prefixRange } from "./read.ts";
import { ARTIFACT_FIELDS, type ArtifactJson, artifactJson, JOB_FIELDS, type JobJson, jobJson } from "./views.ts";

export interface SearchFilters {
  q?: string;
  command?: string;
  path?: string;
  package?: string;
  /** `any`/`yes` (ran on a GPU), `none`/`no`, or part of a GPU's name. */
  gpu?: string;
  /** File extension without the dot. */
  type?: string;
  user?: string;
  session?: string;
  /** Epoch seconds. */
  since?: number;
  until?: number;
}

export interface Page {
  limit: number;
  offset: number;
  sort: string;
  order: "asc" | "desc";
}

/** Sortable columns; `?` marks one that may be NULL (NULLs sort last either way). */
export const JOB_SORTS: Record<string, string> = {
  time: "j.timestamp?",
  duration: "j.duration_seconds?",
  command: "j.command",
  step: "j.step_number?",
  exit: "j.exit_code?",
  user: "j.owner",
};

export const ARTIFACT_SORTS: Record<string, string> = {
  created: "a.created_at",
  size: "a.size?",
  hash: "a.hash",
  user: "a.owner",
};

/** Counting stops here: an exact count of a million matches would cost more than the page itself. */
export const COUNT_CAP = 1_000;

/** `%` and `_` are literal; `*` and `?` are the glob's wildcards; no wildcard means "contains". */
export function likePattern(text: string, glob: boolean): string {
  const escaped = text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  if (!glob || !/[*?]/.test(text)) return `%${escaped}%`;
  return escaped.replace(/\*+/g, "%").replace(/\?/g, "_");
}

const LIKE = "LIKE ? ESCAPE '\\'";

/** Conditions on the link rows `io` (path, file type). */
function ioConditions(f: SearchFilters, io: string): { sql: string[]; params: SqlValue[] } {
  const sql: string[] = [];
  const params: SqlValue[] = [];
  if (f.path) {
    sql.push(`LOWER(${io}.path) ${LIKE}`);
    params.push(likePattern(f.path, true));
  }
  if (f.type) {
    sql.push(`${io}.ext = ?`);
    params.push(f.type.replace(/^\./, "").toLowerCase());
  }
  return { sql, params };
}

/** Conditions on the job row `j`. */
function jobConditions(f: SearchFilters): { sql: string[]; params: SqlValue[] } {
  const sql: string[] = [];
  const params: SqlValue[] = [];
  if (f.command) {
    sql.push(`LOWER(j.command) ${LIKE}`);
    params.push(likePattern(f.command, false));
  }
  if (f.user) {
    sql.push("j.owner = ?");
    params.push(f.user);
  }
  if (f.session) {
    const s = f.session.toLowerCase();
    sql.push("j.session_hash >= ? AND j.session_hash < ?");
    params.push(...prefixRange(s));
  }
  if (f.since !== undefined) {
    sql.push("j.timestamp >= ?");
    params.push(f.since);
  }
  if (f.until !== undefined) {
    sql.push("j.timestamp < ?");
    params.push(f.until);
  }
  if (f.package) {
    sql.push(
      "EXISTS (SELECT 1 FROM job_facets f WHERE f.job_id = j.id AND f.facet IN ('pip', 'dpkg') AND f.value = ?)",
    );
    params.push(f.package.trim().toLowerCase().replace(/_/g, "-"));
  }
  if (f.gpu) {
    const g = f.gpu.trim().toLowerCase();
    const facet = "SELECT 1 FROM job_facets f WHERE f.job_id = j.id AND f.facet = 'gpu'";
    if (g === "any" || g === "yes" || g === "true") sql.push(`EXISTS (${facet})`);
    else if (g === "none" || g === "no" || g === "false") sql.push(`NOT EXISTS (${facet})`);
    else {
      sql.push(`EXISTS (${facet} AND f.value ${LIKE})`);
      params.push(likePattern(g, false));
    }
  }
  return { sql, params };
}

function where(parts: string[]): string {
  return parts.length > 0 ? `WHERE ${parts.join(" AND ")}` : "";
}

function orderBy(sorts: Record<string, string>, page: Page, tieBreak: string): string {
  const spec = sorts[page.sort];
  if (!spec)
    throw new RegistryError(400, "bad_sort", `unknown sort '${page.sort}' (one of ${Object.keys(sorts).join(", ")})`, {
      field: "sort",
    });
  const dir = page.order === "asc" ? "ASC" : "DESC";
  const nullable = spec.endsWith("?");
  const column = nullable ? spec.slice(0, -1) : spec;
  // Plain ORDER BY on NOT NULL columns so an index can serve "the first page".
  return `ORDER BY ${column} ${dir}${nullable ? " NULLS LAST" : ""}, ${tieBreak} ${dir}`;
}

/** How many rows match, counted up to COUNT_CAP + 1. */
async function cappedCount(
  db: SqlExecutor,
  from: string,
  params: SqlValue[],
): Promise<{ total: number; exact: boolean }> {
  const [row] = await db.all(`SELECT COUNT(*) AS n FROM (SELECT 1 AS x ${from} LIMIT ${COUNT_CAP + 1}) c`, params);
  const n = num(row?.n) ?? 0;
  return { total: Math.min(n, COUNT_CAP), exact: n <= COUNT_CAP };
}

export async function searchJobs(
  db: SqlExecutor,
  f: SearchFilters,
  page: Page,
): Promise<{ total: number; exact: boolean; jobs: JobJson[] }> {
  const jc = jobConditions(f);
  const ic = ioConditions(f, "io");
  const conds = [...jc.sql];
  const params = [...jc.params];
  if (ic.sql.length > 0) {
    conds.push(`EXISTS (SELECT 1 FROM job_io io WHERE io.job_id = j.id AND ${ic.sql.join(" AND ")})`);
    params.push(...ic.params);
  }
  if (f.q) {
    const like = likePattern(f.q, false);
    const hex = /^[0-9a-f]{4,}$/i.test(f.q) ? f.q.toLowerCase() : null;
    conds.push(
      `(LOWER(j.command) ${LIKE} OR EXISTS (SELECT 1 FROM job_io io2 WHERE io2.job_id = j.id AND LOWER(io2.path) ${LIKE})${hex ? " OR (j.job_uid >= ? AND j.job_uid < ?)" : ""})`,
    );
    params.push(like, like, ...(hex ? prefixRange(hex) : []));
  }
  const clause = where(conds);
  const count = await cappedCount(db, `FROM jobs j ${clause}`, params);
  const rows = await db.all(
    `SELECT ${JOB_FIELDS} FROM jobs j ${clause} ${orderBy(JOB_SORTS, page, "j.id")} LIMIT ? OFFSET ?`,
    [...params, page.limit, page.offset],
  );
  return { ...count, jobs: rows.map(jobJson) };
}

export type ArtifactHit = ArtifactJson & { path: string | null };

const FIRST_PATH = "(SELECT MIN(io.path) FROM job_io io WHERE io.artifact_id = a.id) AS path";

export async function searchArtifacts(
  db: SqlExecutor,
  f: SearchFilters,
  page: Page,
): Promise<{ total: number; exact: boolean; artifacts: ArtifactHit[] }> {
  const jc = jobConditions(f);
  const ic = ioConditions(f, "io");
  const inner = [...ic.sql, ...jc.sql];
  const innerParams: SqlValue[] = [...ic.params, ...jc.params];
  // An artifact matches through a link (its path) and the job on the other end of it.
  const through = (conds: string[]) =>
    `EXISTS (SELECT 1 FROM job_io io JOIN jobs j ON j.id = io.job_id WHERE io.artifact_id = a.id AND ${conds.join(" AND ")})`;
  const conds: string[] = [];
  const params: SqlValue[] = [];
  if (f.q) {
    const hex = /^[0-9a-f]{4,}$/i.test(f.q) ? f.q.toLowerCase() : null;
    const like = likePattern(f.q, false);
    let text = through([...inner, `(LOWER(io.path) ${LIKE} OR LOWER(j.command) ${LIKE})`]);
    params.push(...innerParams, like, like);
    if (hex) {
      text = `(${text} OR (a.hash >= ? AND a.hash < ?${inner.length > 0 ? ` AND ${through(inner)}` : ""}))`;
      params.push(...prefixRange(hex), ...(inner.length > 0 ? innerParams : []));
    }
    conds.push(text);
  } else if (inner.length > 0) {
    conds.push(through(inner));
    params.push(...innerParams);
  }
  const clause = where(conds);
  const count = await cappedCount(db, `FROM artifacts a ${clause}`, params);
  const rows = await db.all(
    `SELECT ${ARTIFACT_FIELDS}, ${FIRST_PATH} FROM artifacts a ${clause} ${orderBy(ARTIFACT_SORTS, page, "a.id")} LIMIT ? OFFSET ?`,
    [...params, page.limit, page.offset],
  );
  return { ...count, artifacts: rows.map((r) => ({ ...artifactJson(r), path: (r.path as string | null) ?? null })) };
}

/** Browsing without filters: a plain page of one table. */
export async function browseArtifacts(
  db: SqlExecutor,
  page: Page,
): Promise<{ total: number; exact: boolean; artifacts: ArtifactHit[] }> {
  return searchArtifacts(db, {}, page);
}

export function hasFilters(f: SearchFilters): boolean {
  return Object.values(f).some((v) => v !== undefined && v !== "");
}
