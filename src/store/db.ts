import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { RoarError } from "../core/errors.ts";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";

const SQLITE_MAGIC = "SQLite format 3\0";

function checkHeader(path: string): void {
  if (!existsSync(path) || statSync(path).size === 0) return;
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(16);
    readSync(fd, buf, 0, 16, 0);
    if (buf.toString("latin1") !== SQLITE_MAGIC) {
      throw new RoarError(
        `${path} is not a roar database (not an SQLite file); move it aside and run 'roar init' again`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens (creating when missing) the project database: WAL, busy timeout, foreign keys, migrations to the
 * current schema. A foreign, corrupt or newer database is refused without touching it.
 */
export function openDatabase(path: string, options: { create?: boolean } = {}): Database {
  checkHeader(path);
  const exists = existsSync(path) && statSync(path).size > 0;
  if (!exists && options.create === false) {
    throw new RoarError(`${path} is missing; run 'roar init' to create it`);
  }
  let db: Database;
  try {
    // Commands and environment metadata are the owner's business: a new database is created 0600 (SQLite
    // gives its -wal and -shm files the database's mode).
    if (!exists) closeSync(openSync(path, "a", 0o600));
    db = new Database(path, { create: true, strict: true });
  } catch (error) {
    throw new RoarError(`cannot open ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (exists && appId !== APPLICATION_ID) {
      const tables = db.query("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (tables.n > 0 || version !== 0) {
        throw new RoarError(`${path} is an SQLite database but not roar's; move it aside and run 'roar init' again`);
      }
    }
    if (version > SCHEMA_VERSION) {
      throw new RoarError(
        `${path} was written by a newer roar (schema ${version}; this roar knows up to ${SCHEMA_VERSION}); upgrade roar`,
      );
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    if (version < SCHEMA_VERSION) migrate(db, version);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof RoarError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RoarError(`${path} is not a usable roar database (${message}); move it aside and run 'roar init' again`);
  }
}

function migrate(db: Database, from: number): void {
  const run = db.transaction(() => {
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
