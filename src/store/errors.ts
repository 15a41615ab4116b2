/**
 * What a failing SQLite call means for the user. Every message keeps the history safe: it names the problem and
 * never advises anything that would discard the database.
 */
import { dirname } from "node:path";
import { fsErrorReason, RoarError } from "../shared/errors.ts";

/** A store failure: `reason` is the short form ("disk full") used inside longer messages. */
export class StoreError extends RoarError {
  constructor(
    readonly reason: string,
    message: string,
    exitCode = 1,
    hint?: string,
  ) {
    super(message, exitCode, hint);
    this.name = "StoreError";
  }
}

/** The database's name in messages: relative to the current directory when inside it. */
export function storeLabel(dbPath: string, cwd = process.cwd()): string {
  return dbPath.startsWith(`${cwd}/`) ? dbPath.slice(cwd.length + 1) : dbPath;
}

function sqliteCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "SQLiteError") return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

export function readOnlyStoreError(dbPath: string, why: string): StoreError {
  return new StoreError(
    "the store is read-only",
    `the roar store ${storeLabel(dirname(dbPath))}/ is read-only (${why}); this command writes to it — nothing was changed`,
  );
}

export function corruptStoreError(dbPath: string, detail: string): StoreError {
  return new StoreError(
    "the database is corrupt",
    `${storeLabel(dbPath)} is corrupt (${detail}); nothing was changed — keep a copy of .roar/ before any repair (e.g. sqlite3 .recover)`,
  );
}

/**
 * A StoreError for the SQLite and file-system failures a user can act on (disk full, read-only, corrupt, locked),
 * or undefined for anything else (a bug: reported as an internal error).
 */
export function storeFailure(error: unknown, dbPath = ".roar/roar.db"): StoreError | undefined {
  if (error instanceof StoreError) return error;
  const code = sqliteCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === undefined) {
    const reason = fsErrorReason(error);
    if (reason === "disk full") return new StoreError(reason, `disk full (${detail}); nothing was changed`);
    return undefined;
  }
  if (code === "SQLITE_FULL" || (code.startsWith("SQLITE_IOERR") && /full|space/i.test(detail))) {
    return new StoreError(
      "disk full",
      `the disk holding ${storeLabel(dbPath)} is full (${detail}); nothing was changed — free some space`,
    );
  }
  if (code.startsWith("SQLITE_READONLY")) return readOnlyStoreError(dbPath, detail);
  if (code === "SQLITE_CORRUPT" || code.startsWith("SQLITE_CORRUPT_") || code === "SQLITE_NOTADB") {
    return corruptStoreError(dbPath, detail);
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreError(
      "the database is locked",
      `${storeLabel(dbPath)} is locked by another roar process (${detail}); try again when it has finished`,
    );
  }
  if (code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN")) {
    return new StoreError("input/output error", `cannot access ${storeLabel(dbPath)} (${detail})`);
  }
  return undefined;
}
