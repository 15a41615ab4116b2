import { constants, Database } from "bun:sqlite";
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { RoarError } from "../shared/errors.ts";
import { readOnlyStoreError, StoreError, storeFailure, storeLabel } from "./errors.ts";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import { tellStoreUpgrade } from "./upgrade-notice.ts";

const SQLITE_MAGIC = "SQLite format 3\0";

export interface OpenOptions {
  /** Create the database when it is missing or empty (only `roar init` does). Default false. */
  create?: boolean;
  /** The command writes: refuse a read-only store up front instead of opening it read-only. Default false. */
  write?: boolean;
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

function checkHeader(path: string): void {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(16);
    readSync(fd, buf, 0, 16, 0);
    if (buf.toString("latin1") !== SQLITE_MAGIC) {
      throw new StoreError(
        "not a roar database",
        `${storeLabel(path)} is not an SQLite database (damaged or replaced); nothing was changed — restore it from a backup`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** Why the store cannot be written (read-only mount, permissions), or undefined when it can. */
function notWritableReason(path: string): string | undefined {
  for (const file of [dirname(path), path, `${path}-wal`, `${path}-shm`]) {
    if (file !== dirname(path) && sizeOf(file) === undefined) continue;
    try {
      accessSync(file, fsConstants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === "EROFS" ? "read-only file system" : "no write permission";
    }
  }
  return undefined;
}

/** A file: URI for SQLite (every byte outside the unreserved set percent-encoded). */
function fileUri(path: string, query: string): string {
  let out = "";
  for (const byte of Buffer.from(path)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9/._~-]/.test(c) ? c : `%${byte.toString(16).padStart(2, "0")}`;
  }
  return `file:${out}?${query}`;
}

/**
 * A read-only connection to a store that cannot be written. Without a pending write-ahead log the file is
 * opened as immutable (SQLite would otherwise need to create roar.db-shm next to it); with one, SQLite reads it
 * through the existing -shm file when it can.
 */
function openReadOnly(path: string): Database {
  const walSize = sizeOf(`${path}-wal`) ?? 0;
  try {
    if (walSize === 0) {
      return new Database(fileUri(path, "immutable=1"), constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
    }
    const db = new Database(path, { readonly: true, strict: true });
    db.query("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch (error) {
    const failure = storeFailure(error, path);
    if (walSize > 0) {
      throw new StoreError(
        "the store is read-only",
        `${storeLabel(path)} is read-only and its write-ahead log (roar.db-wal) cannot be read without write access; copy .roar/ somewhere writable to read it`,
      );
    }
    throw failure ?? error;
  }
}

/**
 * Opens the project database: WAL, busy timeout, foreign keys, migrations to the current schema. A foreign,
 * corrupt, empty or newer database is refused without touching it, and a read-only store is opened read-only for
 * commands that only read (writing ones are refused up front with `write`).
 */
export function openDatabase(path: string, options: OpenOptions = {}): { db: Database; readOnly: boolean } {
  const size = sizeOf(path);
  const walSize = sizeOf(`${path}-wal`) ?? 0;
  if (size === undefined && !options.create) {
    throw new StoreError(
      "the database is missing",
      `${storeLabel(path)} is missing; 'roar init --force' creates a new one (and keeps config.toml)`,
    );
  }
  // An empty file with no write-ahead log holds no history: refuse rather than lay a new schema over it.
  if (size === 0 && walSize === 0 && !options.create) {
    throw new StoreError(
      "the database is empty",
      `${storeLabel(path)} is empty (0 bytes): its history is gone; restore it from a backup, or 'roar init --force' starts a new database in it`,
    );
  }
  if (size !== undefined && size > 0) checkHeader(path);
  const notWritable = notWritableReason(path);
  if (notWritable !== undefined && (options.write || options.create)) throw readOnlyStoreError(path, notWritable);
  const readOnly = notWritable !== undefined;
  const existed = (size ?? 0) > 0 || walSize > 0;

  let db: Database;
  try {
    // Commands and environment metadata are the owner's business: a new database is created 0600 (SQLite
    // gives its -wal and -shm files the database's mode).
    if (size === undefined && options.create) closeSync(openSync(path, "a", 0o600));
    db = readOnly ? openReadOnly(path) : new Database(path, { create: options.create === true, strict: true });
  } catch (error) {
    if (error instanceof RoarError) throw error;
    throw storeFailure(error, path) ?? new RoarError(`cannot open ${storeLabel(path)}: ${String(error)}`);
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (existed && appId !== APPLICATION_ID) {
      const tables = db.query("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (tables.n > 0 || version !== 0) {
        throw new StoreError(
          "not a roar database",
          `${storeLabel(path)} is an SQLite database but not roar's; nothing was changed`,
        );
      }
    }
    if (version > SCHEMA_VERSION) {
      throw new RoarError(
        `${storeLabel(path)} was written by a newer roar (schema ${version}; this roar knows up to ${SCHEMA_VERSION}); upgrade roar`,
      );
    }
    if (version < SCHEMA_VERSION && existed)
      tellStoreUpgrade({ path, from: version, to: SCHEMA_VERSION, bytes: (size ?? 0) + walSize, readOnly });
    if (readOnly) {
      if (version < SCHEMA_VERSION) {
        db.close();
        return { db: migratedCopy(path, version, notWritable ?? "read-only"), readOnly };
      }
      db.exec("PRAGMA foreign_keys = ON");
      return { db, readOnly };
    }
    // A new database gets 16 KiB pages: a big job's tens of thousands of index entries land in fewer, shallower
    // pages (recording 22,000 files: ~20 % less time in SQLite). Existing databases keep theirs (it would take a
    // VACUUM to change).
    if (version === 0) db.exec("PRAGMA page_size = 16384");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    // A big job writes tens of thousands of index entries at random places: with SQLite's default 2 MiB page
    // cache every one of them re-reads its pages. Memory is only taken as pages are touched.
    db.exec("PRAGMA cache_size = -65536");
    // Statement journals (a multi-row INSERT's undo record inside a transaction) and temporary b-trees in memory:
    // on disk under /var/tmp, a big job's insert wrote ~4,000 journal pages there.
    db.exec("PRAGMA temp_store = MEMORY");
    if (version < SCHEMA_VERSION) migrate(db, version);
    return { db, readOnly };
  } catch (error) {
    db.close();
    if (error instanceof RoarError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw (
      storeFailure(error, path) ?? new RoarError(`cannot use ${storeLabel(path)} (${message}); nothing was changed`)
    );
  }
}

/**
 * A read-only store written by an older roar: its file is read into memory and migrated there, so the queries of
 * this roar work and the store itself is left as it is. (A pending write-ahead log would be missing from the copy.)
 */
function migratedCopy(path: string, version: number, why: string): Database {
  if ((sizeOf(`${path}-wal`) ?? 0) > 0) {
    throw new StoreError(
      "the store is read-only",
      `${storeLabel(path)} is read-only (${why}), was written by an older roar and has a pending write-ahead log; run roar once where it is writable to upgrade it`,
    );
  }
  const bytes = new Uint8Array(readFileSync(path));
  // Bytes 18-19 of the header say WAL (2); an in-memory database cannot be in WAL mode.
  bytes[18] = 1;
  bytes[19] = 1;
  const copy = Database.deserialize(bytes);
  copy.exec("PRAGMA foreign_keys = ON");
  migrate(copy, version);
  return copy;
}

function migrate(db: Database, from: number): void {
  const run = db.transaction(() => {
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
  run.immediate();
}
