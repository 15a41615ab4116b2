/**
 * Starting the registry: settings from flags, then GLAAS_* environment variables, then defaults; Bun.serve on
 * the chosen address; a clean stop on SIGINT/SIGTERM.
 */
import { createRegistry, DEFAULT_MAX_BODY_BYTES } from "./app.ts";
import { DEFAULT_DATABASE_URL, openDatabase } from "./db/open.ts";
import type { SqlDatabase } from "./db/sql.ts";
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from "./rate-limit.ts";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8000;

export interface ServerSettings {
  host: string;
  port: number;
  databaseUrl: string;
  maxBodyBytes: number;
  rateLimit: RateLimitOptions;
  openSignup: boolean;
}

export class SettingsError extends Error {}

/** The address cannot be listened on (in use, not ours). */
export class ListenError extends Error {}

function intSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max)
    throw new SettingsError(`${name} must be an integer between ${min} and ${max} (got '${raw}')`);
  return Number(raw);
}

/** Flags win over the environment, the environment over defaults. */
export function resolveSettings(
  flags: { host?: string; port?: string; db?: string; rateLimit?: string },
  env: Record<string, string | undefined>,
): ServerSettings {
  const perSecond = intSetting(
    "the rate limit",
    flags.rateLimit ?? env.GLAAS_RATE_LIMIT,
    DEFAULT_RATE_LIMIT.perSecond,
    0,
    1_000_000,
  );
  const signup = (env.GLAAS_OPEN_SIGNUP ?? "1").toLowerCase();
  return {
    host: flags.host ?? env.GLAAS_HOST ?? DEFAULT_HOST,
    port: intSetting("the port", flags.port ?? env.GLAAS_PORT, DEFAULT_PORT, 0, 65535),
    databaseUrl: flags.db ?? env.GLAAS_DATABASE_URL ?? DEFAULT_DATABASE_URL,
    maxBodyBytes: intSetting("GLAAS_MAX_BODY_BYTES", env.GLAAS_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1024, 1 << 30),
    rateLimit: {
      perSecond,
      burst: Math.max(DEFAULT_RATE_LIMIT.burst * (perSecond / DEFAULT_RATE_LIMIT.perSecond), perSecond, 1),
    },
    openSignup: !["0", "false", "no", "off"].includes(signup),
  };
}

export interface RunningServer {
  url: string;
  db: SqlDatabase;
  stop(): Promise<void>;
}

export async function startServer(settings: ServerSettings): Promise<RunningServer> {
  const db = await openDatabase(settings.databaseUrl);
  const registry = createRegistry({
    db,
    maxBodyBytes: settings.maxBodyBytes,
    rateLimit: settings.rateLimit,
    openSignup: settings.openSignup,
  });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: settings.host,
      port: settings.port,
      // The registry reads bodies itself and answers a JSON 413 at its limit; Bun's own limit is only a backstop.
      maxRequestBodySize: Math.max(settings.maxBodyBytes * 4, 64 * 1024 * 1024),
      // A 10,000-item batch on a busy PostgreSQL can take seconds; Bun's default would cut it at 10 s idle.
      idleTimeout: 120,
      fetch: (request, srv) => registry.fetch(request, srv),
    });
  } catch (error) {
    await db.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new ListenError(`cannot listen on ${settings.host}:${settings.port}: ${message}`);
  }
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${server.port}`,
    db,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** Runs until SIGINT/SIGTERM; reports on stderr. Returns the exit code. */
export async function runServer(settings: ServerSettings, log: (line: string) => void): Promise<number> {
  // The handlers come first: a signal right after the "listening" line must stop the server cleanly.
  let stopRequested = () => {};
  const stop = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  process.once("SIGINT", () => stopRequested());
  process.once("SIGTERM", () => stopRequested());
  const running = await startServer(settings);
  log(`GLaaS registry listening on ${running.url} (database ${running.db.label})`);
  await stop;
  await running.stop();
  log("GLaaS registry stopped");
  return 0;
}
