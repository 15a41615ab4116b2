/** `sqlite:PATH` (or a bare path) and `postgres://…` database URLs. */
import { resolve } from "node:path";
import { migrate } from "./migrations.ts";
import { PostgresDatabase } from "./postgres.ts";
import type { SqlDatabase } from "./sql.ts";
import { SqliteDatabase } from "./sqlite.ts";

export const DEFAULT_DATABASE_URL = "sqlite:glaas.db";

export class DatabaseUrlError extends Error {}

/** Opens and migrates the registry database named by `url`, relative paths against `cwd`. */
export async function openDatabase(url: string, cwd = process.cwd()): Promise<SqlDatabase> {
  let db: SqlDatabase;
  if (/^postgres(ql)?:\/\//.test(url)) db = new PostgresDatabase(url);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith("sqlite:"))
    throw new DatabaseUrlError(`unsupported database URL '${url}' (use sqlite:PATH or postgres://…)`);
  else {
    const path = url.replace(/^sqlite:(\/\/)?/, "");
    if (path === "") throw new DatabaseUrlError("sqlite: needs a file path (sqlite:PATH)");
    db = new SqliteDatabase(path === ":memory:" ? path : resolve(cwd, path));
  }
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
