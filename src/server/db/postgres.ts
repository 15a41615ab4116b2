/** The registry on PostgreSQL through Bun.sql (a connection pool; transactions with `begin`). */
import { SQL } from "bun";
import { numberPlaceholders, type Row, type SqlDatabase, type SqlExecutor, type SqlValue } from "./sql.ts";

type Client = InstanceType<typeof SQL>;

/** Numbered SQL text, memoised: the same query shapes come back on every request. */
const numbered = new Map<string, string>();
function pgText(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    text = numberPlaceholders(sql);
    if (numbered.size < 10_000) numbered.set(sql, text);
  }
  return text;
}

function executor(client: Client): SqlExecutor {
  return {
    dialect: "postgres",
    all: async <T extends Row = Row>(sql: string, params: SqlValue[] = []) =>
      (await client.unsafe(pgText(sql), params)) as T[],
    run: async (sql: string, params: SqlValue[] = []) => {
      const result = (await client.unsafe(pgText(sql), params)) as { count?: number | null };
      return result.count ?? 0;
    },
  };
}

/** SQLSTATEs of a transaction worth running again: deadlock_detected, serialization_failure. */
const RETRIED_SQLSTATES: ReadonlySet<unknown> = new Set(["40P01", "40001"]);

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  readonly label: string;
  private readonly sql: Client;
  private readonly plain: SqlExecutor;

  constructor(url: string, maxConnections = 10) {
    this.sql = new SQL(url, { max: maxConnections, idleTimeout: 30 });
    this.plain = executor(this.sql);
    const u = new URL(url);
    this.label = `postgres://${u.username ? `${u.username}@` : ""}${u.host}${u.pathname}`;
  }

  all<T extends Row = Row>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.plain.all<T>(sql, params);
  }

  run(sql: string, params: SqlValue[] = []): Promise<number> {
    return this.plain.run(sql, params);
  }

  /** Retried (a few times) when PostgreSQL aborts it for a deadlock or a serialization failure. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.sql.begin(async (tx) => work(executor(tx as unknown as Client)))) as T;
      } catch (error) {
        const code = (error as { errno?: unknown; code?: unknown }).errno ?? (error as { code?: unknown }).code;
        if (attempt >= 4 || !RETRIED_SQLSTATES.has(code)) throw error;
        await Bun.sleep(5 * attempt + Math.random() * 10);
      }
    }
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}
