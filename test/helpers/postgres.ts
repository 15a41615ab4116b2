/**
 * A private PostgreSQL cluster for a test file or a benchmark: Debian's server binaries (installed by the set-up
 * step when missing), `initdb` into a temporary directory, `pg_ctl start` on a loopback port with the socket in
 * that directory. No system service, nothing outside the directory. As root the server runs as the `postgres`
 * user (PostgreSQL refuses to run as root).
 */
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { ensureSystemPackages, postgresBinDir } from "../../scripts/setup.ts";

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A fresh database in the cluster; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function uidOf(user: string): { uid: number; gid: number } | null {
  const r = Bun.spawnSync(["id", "-u", user]);
  const g = Bun.spawnSync(["id", "-g", user]);
  if (r.exitCode !== 0 || g.exitCode !== 0) return null;
  return { uid: Number(r.stdout.toString().trim()), gid: Number(g.stdout.toString().trim()) };
}

/** Runs a PostgreSQL program, as `postgres` when we are root. */
function pgRun(args: string[], asUser: string | null): { code: number; out: string } {
  const argv = asUser ? ["runuser", "-u", asUser, "--", ...args] : args;
  const r = Bun.spawnSync(argv, {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
  });
  return { code: r.exitCode ?? 1, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

/** `durable: false` (the tests) turns fsync off; benchmarks keep PostgreSQL's defaults. */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PgCluster> {
  let bin = postgresBinDir();
  if (!bin) {
    await ensureSystemPackages();
    bin = postgresBinDir();
  }
  if (!bin) throw new Error("PostgreSQL server binaries not found (apt-get install postgresql)");
  const root = process.getuid?.() === 0;
  const owner = root ? uidOf("postgres") : null;
  if (root && !owner)
    throw new Error("running as root needs the 'postgres' user (created by Debian's postgresql package)");
  const dir = mkdtempSync(join(tmpdir(), "roar-pg-"));
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(data, owner.uid, owner.gid);
  }
  const as = root ? "postgres" : null;
  const init = pgRun(
    [`${bin}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
    as,
  );
  if (init.code !== 0) throw new Error(`initdb failed:\n${init.out}`);
  const port = await freePort();
  const settings = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c max_connections=200"];
  if (!options.durable) settings.push("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off");
  const start = pgRun(
    [`${bin}/pg_ctl`, "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", settings.join(" "), "start"],
    as,
  );
  if (start.code !== 0) throw new Error(`pg_ctl start failed:\n${start.out}`);
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    pgRun([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"], as);
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed test run must not leave a server behind.
  process.on("exit", stopNow);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name: string) {
      const admin = new SQL(url);
      await admin.unsafe(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      await admin.close();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      pgRun([`${bin}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"], as);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
