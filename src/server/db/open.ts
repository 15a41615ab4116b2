/** `sqlite:PATH` (or a bare path) and `postgres://…` database URLs. */
import { resolve } from "node:path";
import { migrate } from "./migrations.ts";
import { PostgresDatabase } from "./postgres.ts";
import type { SqlDatabase } from "./sql.ts";
import { SqliteDatabase } from "./sqlite.ts";

export const DEFAULT_DATABASE_URL = "sqlite:glaas.db";

export class DatabaseUrlError extends Error {}

/** The database named by a good URL cannot be opened or migrated (unreachable server, unreadable file…). */
export class DatabaseOpenError extends Error {}

/** A URL for messages: the password of a postgres:// URL hidden. */
export function safeUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}

/** Opens and migrates the registry database named by `url`, relative paths against `cwd`. */
export async function openDatabase(url: string, cwd = process.cwd()): Promise<SqlDatabase> {
  let db: SqlDatabase;
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      db = new PostgresDatabase(url);
    } catch (error) {
      throw new DatabaseUrlError(
        `bad PostgreSQL URL '${safeUrl(url)}': ${error instanceof Error ? error.message : error}`,
      );
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith("sqlite:")) {
    throw new DatabaseUrlError(`unsupported database URL '${safeUrl(url)}' (use sqlite:PATH or postgres://…)`);
  } else {
    const path = url.replace(/^sqlite:(\/\/)?/, "");
    if (path === "") throw new DatabaseUrlError("sqlite: needs a file path (sqlite:PATH)");
    try {
      db = new SqliteDatabase(path === ":memory:" ? path : resolve(cwd, path));
    } catch (error) {
      throw new DatabaseOpenError(`cannot open ${path}: ${error instanceof Error ? error.message : error}`);
    }
  }
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw new DatabaseOpenError(
      `cannot open the registry database ${db.label}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return db;
}
