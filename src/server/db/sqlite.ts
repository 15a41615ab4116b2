/**
 * The registry on SQLite (bun:sqlite): one connection, WAL, foreign keys on. bun:sqlite is synchronous, so the
 * async interface only has to keep one request's transaction from interleaving with another's statements: a
 * transaction holds a lock that other statements wait for.
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Row, SqlDatabase, SqlExecutor, SqlValue } from "./sql.ts";

export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  readonly label: string;
  private readonly db: Database;
  private lock: Promise<void> = Promise.resolve();
  private locked = false;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true, strict: true });
    this.label = `sqlite:${path}`;
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.db.exec("PRAGMA foreign_keys = ON");
    this.db.exec("PRAGMA busy_timeout = 10000");
  }

  private readonly raw: SqlExecutor = {
    dialect: "sqlite",
    all: async <T extends Row = Row>(sql: string, params: SqlValue[] = []) => this.db.query(sql).all(...params) as T[],
    run: async (sql: string, params: SqlValue[] = []) => this.db.query(sql).run(...params).changes,
  };

  private async unlocked(): Promise<void> {
    while (this.locked) await this.lock;
  }

  async all<T extends Row = Row>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    await this.unlocked();
    return this.raw.all<T>(sql, params);
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    await this.unlocked();
    return this.raw.run(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    await this.unlocked();
    this.locked = true;
    let release = () => {};
    this.lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await work(this.raw);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    } finally {
      this.locked = false;
      release();
    }
  }

  async close(): Promise<void> {
    await this.unlocked();
    this.db.close();
  }
}
