/** The connection every store module shares: prepared statements cached by text, write transactions. */
import type { Database, SQLQueryBindings, Statement } from "bun:sqlite";

/** Rows a multi-row INSERT statement takes (insertMany): ~15 % less time than one a statement, measured. */
const ROWS_PER_INSERT = 32;

/** A row as bun:sqlite returns it (column name → value). */
export type Row = Record<string, unknown>;

/** Random hex (Web Crypto: node:crypto costs every command ~9 ms to load, and only this is needed of it). */
export function newUid(bytes = 16): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** A JSON column: its value, or `fallback` when it is NULL or empty. */
export function json<T>(text: unknown, fallback: T): T {
  if (typeof text !== "string" || text === "") return fallback;
  return JSON.parse(text) as T;
}

/** One bound parameter holding a list (`… IN (SELECT value FROM json_each(?))`): one statement for any length. */
export function jsonList(values: Iterable<string>): string {
  return JSON.stringify([...new Set(values)]);
}

/** The database of a store; only the modules of src/store see it. */
export class StoreDb {
  private readonly statements = new Map<string, Statement>();

  constructor(
    readonly db: Database,
    /** Opened read-only because the store cannot be written (read-only mount, permissions): queries only. */
    readonly readOnly: boolean,
  ) {}

  /** A cached prepared statement. */
  sql(text: string): Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  /** SQLite's data_version: it changes when another connection commits (see KnownArtifacts). */
  dataVersion(): number {
    return (this.sql("PRAGMA data_version").get() as { data_version: number }).data_version;
  }

  /** Runs `body` in one write transaction (BEGIN IMMEDIATE; a savepoint when nested). */
  write(body: () => void): void {
    this.db.transaction(body).immediate();
  }

  /**
   * write(), without SQLite's per-row foreign-key lookups, for writes whose every parent row is written (or known
   * to exist) inside the same transaction: a job's tens of thousands of job_io rows each cost two extra index
   * searches otherwise (~30 % of recording a big job). Inside an enclosing transaction the pragma cannot change,
   * so the checks stay on there.
   */
  writeWithParentsKnown(body: () => void): void {
    if (this.db.inTransaction) {
      this.write(body);
      return;
    }
    this.db.exec("PRAGMA foreign_keys = OFF");
    try {
      this.write(body);
    } finally {
      this.db.exec("PRAGMA foreign_keys = ON");
    }
  }

  /**
   * `INSERT … VALUES` of many rows, several rows a statement: bun:sqlite's cost per call is about that of writing a
   * row, and a big job writes tens of thousands. `insert` is the text before VALUES; `row.tuple` one row's values:
   * `row.width` plain `?`, and `?1`… for the `row.shared` values, bound once a statement (a job's seq), or literals
   * (binding a value costs about as much as SQLite's own work on it); `row.conflict` what follows the rows (an
   * ON CONFLICT clause).
   *
   * Callers say `INSERT OR FAIL` (or IGNORE): a failing row then leaves the statement's earlier rows in place,
   * which costs nothing here, as every caller writes inside a transaction that the error rolls back whole. With
   * SQLite's default (ABORT), each multi-row statement first copies every page it changes into a statement
   * journal, to undo only itself (a big job's insert: ~4,000 pages of 16 KiB).
   */
  insertMany(
    insert: string,
    rows: readonly SQLQueryBindings[][],
    row: { tuple: string; width: number; shared?: readonly SQLQueryBindings[]; conflict?: string },
  ): void {
    const { tuple, width, shared = [], conflict = "" } = row;
    const statementFor = (n: number) => this.sql(`${insert} VALUES ${new Array(n).fill(tuple).join(", ")} ${conflict}`);
    const lead = shared.length;
    let i = 0;
    if (rows.length >= ROWS_PER_INSERT) {
      const many = statementFor(ROWS_PER_INSERT);
      const params: SQLQueryBindings[] = [...shared, ...new Array<SQLQueryBindings>(ROWS_PER_INSERT * width)];
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
        for (let r = 0; r < ROWS_PER_INSERT; r++) {
          const values = rows[i + r] as SQLQueryBindings[];
          for (let c = 0; c < width; c++) params[lead + r * width + c] = values[c] as SQLQueryBindings;
        }
        many.run(...params);
      }
    }
    if (i < rows.length) {
      const one = statementFor(1);
      for (; i < rows.length; i++) one.run(...shared, ...(rows[i] as SQLQueryBindings[]));
    }
  }

  close(): void {
    for (const s of this.statements.values()) s.finalize();
    this.statements.clear();
    this.db.close();
  }
}
