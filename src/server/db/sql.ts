/**
 * The one seam between the registry and its database: a few async calls that SQLite (bun:sqlite) and PostgreSQL
 * (Bun.sql) both implement. Queries are written once, with `?` placeholders; the PostgreSQL side numbers them.
 */

export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface SqlDatabase {
  readonly dialect: "sqlite" | "postgres";
  /** A readable name for logs: `sqlite:/path/to.db` or `postgres://host:port/db` (no password). */
  readonly label: string;
  all<T extends Row = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** Runs `work` in one transaction; everything it does through `tx` commits or rolls back together. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type SqlExecutor = Pick<SqlDatabase, "all" | "run" | "dialect">;

/** `?` → `$1, $2…`, leaving quoted strings and identifiers alone. */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === "?") {
      out += `$${++n}`;
    } else out += ch;
  }
  return out;
}

/** `(?, ?, ?), (?, ?, ?)…` for a multi-row INSERT. */
export function valuesList(rows: number, columns: number): string {
  const one = `(${new Array(columns).fill("?").join(", ")})`;
  return new Array(rows).fill(one).join(", ");
}

/** `?, ?, ?` for an IN list. */
export function placeholders(count: number): string {
  return new Array(count).fill("?").join(", ");
}

/** Splits work into chunks small enough for one statement (PostgreSQL allows 65,535 parameters). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Integer columns come back as bigint or string from some drivers: numbers for JSON. */
export function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? value : Number(value);
}
