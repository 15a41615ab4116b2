/** The connection every store module shares: prepared statements cached by text, write transactions. */
import type { Database, Statement } from "bun:sqlite";

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

  close(): void {
    for (const s of this.statements.values()) s.finalize();
    this.statements.clear();
    this.db.close();
  }
}
