/**
 * Starting the registry from the shell: `roar server`, `roar server add-key`, the `glaas-server` bin and its
 * GLAAS_* variables, their one-line errors, and the README's curl example run as written.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hermeticEnv, REPO_ROOT, ROAR_BIN, roar, tempDir } from "../helpers/cli.ts";
import { api, GLAAS_BIN, makeKey, startRegistry, waitForLine } from "../helpers/glaas.ts";

const T = 120_000;

async function run(argv: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(argv, { cwd, env: hermeticEnv(join(cwd, ".home"), env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

describe("roar server", () => {
  test(
    "serves on the given address and database, and stops cleanly on SIGTERM",
    async () => {
      const dir = tempDir("glaas-cli-");
      const proc = Bun.spawn([ROAR_BIN, "server", "--port", "0", "--db", "sqlite:data/reg.db"], {
        cwd: dir,
        env: hermeticEnv(join(dir, ".home")),
        stdout: "pipe",
        stderr: "pipe",
      });
      const { match } = await waitForLine(
        proc.stderr as ReadableStream<Uint8Array>,
        /listening on (http:\/\/127\.0\.0\.1:\d+) \(database (\S+)\)/,
      );
      expect(match[2]).toBe(`sqlite:${join(dir, "data/reg.db")}`);
      // A long-running server restarted itself with the caller's settings (src/shared/jit-options.ts): same process.
      const environ = readFileSync(`/proc/${proc.pid}/environ`, "utf8").split("\0");
      expect(environ.filter((v) => v.includes("BUN_JSC_") || v.startsWith("ROAR_CALLER_"))).toEqual([]);
      const health = await api<{ status: string }>(match[1] as string, "GET", "/api/v1/health");
      expect(health.body.data.status).toBe("ok");
      const home = await fetch(`${match[1]}/`);
      expect(home.status).toBe(200);
      expect(home.headers.get("content-security-policy")).toContain("script-src 'self'");
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(readFileSync(join(dir, "data/reg.db")).subarray(0, 15).toString()).toBe("SQLite format 3");
    },
    T,
  );

  test(
    "bad settings are one line on stderr and a non-zero exit",
    async () => {
      const dir = tempDir("glaas-cli-");
      const cases: [string[], number, string][] = [
        [["server", "--port", "99999"], 2, "port must be an integer between 0 and 65535"],
        [["server", "--port", "0", "--db", "mysql://db/x"], 2, "unsupported database URL"],
        [
          ["server", "--port", "0", "--db", "postgres://u:secret@127.0.0.1:1/x"],
          1,
          "cannot open the registry database",
        ],
      ];
      for (const [args, code, text] of cases) {
        const r = await roar(args, { cwd: dir });
        expect({ args, code: r.code }).toEqual({ args, code });
        expect(r.stderr).toContain(text);
        expect(r.stderr).not.toContain("secret");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
      const busy = await startRegistry({ GLAAS_DATABASE_URL: `sqlite:${join(dir, "a.db")}` });
      try {
        const port = new URL(busy.url).port;
        const r = await roar(["server", "--port", port, "--db", "sqlite:b.db"], { cwd: dir });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      } finally {
        await busy.stop();
      }
    },
    T,
  );

  test(
    "add-key enrols a key before the database exists, is idempotent, and refuses what is not a public key",
    async () => {
      const dir = tempDir("glaas-cli-");
      const key = makeKey("ed25519");
      const db = `sqlite:${join(dir, "fresh/reg.db")}`;
      const first = await roar(["server", "add-key", "alice", key.publicPath, "--db", db], { cwd: dir });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`Added ssh-ed25519 key ${key.fingerprint} for alice (new user)`);
      const fingerprint = Bun.spawnSync(["ssh-keygen", "-lf", key.publicPath]).stdout.toString().split(" ")[1];
      expect(fingerprint).toBe(key.fingerprint);
      const again = await roar(["server", "add-key", "alice", key.publicPath, "--db", db], { cwd: dir });
      expect(again.stdout).toContain("Already registered");
      const stolen = await roar(["server", "add-key", "mallory", key.publicPath, "--db", db], { cwd: dir });
      expect(stolen.code).toBe(1);
      expect(stolen.stderr).toContain("already registered to another user");
      writeFileSync(join(dir, "junk.pub"), "not a key\n");
      const cases: [string[], string][] = [
        [["server", "add-key", "bob", join(dir, "missing.pub"), "--db", db], "no such file"],
        [["server", "add-key", "bob", key.privatePath, "--db", db], "private key"],
        [["server", "add-key", "bob", join(dir, "junk.pub"), "--db", db], "is not an SSH public key"],
        [["server", "add-key", "bad name!", key.publicPath, "--db", db], "user name"],
        [["server", "add-key", "anonymous", makeKey("ed25519").publicPath, "--db", db], "reserved"],
      ];
      for (const [args, text] of cases) {
        const r = await roar(args, { cwd: dir });
        expect({ args, code: r.code }).toEqual({ args, code: 1 });
        expect(r.stderr).toContain(text);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
      // The server started afterwards knows alice.
      const reg = await startRegistry({ GLAAS_DATABASE_URL: db });
      try {
        const who = await api<{ user: string }>(reg.url, "GET", "/api/v1/auth/whoami", { key });
        expect(who.body.data.user).toBe("alice");
      } finally {
        await reg.stop();
      }
    },
    T,
  );
});

describe("glaas-server", () => {
  test(
    "reads GLAAS_HOST, GLAAS_PORT, GLAAS_DATABASE_URL; refuses arguments and bad values",
    async () => {
      const dir = tempDir("glaas-bin-");
      const reg = await startRegistry({ GLAAS_DATABASE_URL: `sqlite:${join(dir, "env.db")}` });
      try {
        expect(reg.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(reg.stderr()).toContain(`sqlite:${join(dir, "env.db")}`);
      } finally {
        expect(await reg.stop()).toBe(0);
      }
      const arg = await run([GLAAS_BIN, "--port", "1"], dir);
      expect(arg.code).toBe(2);
      expect(arg.stderr).toContain("unexpected argument");
      const port = await run([GLAAS_BIN], dir, { GLAAS_PORT: "http" });
      expect(port.code).toBe(2);
      expect(port.stderr).toContain("port must be an integer");
      const help = await run([GLAAS_BIN, "--help"], dir);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("GLAAS_DATABASE_URL");
    },
    T,
  );

  test(
    "the README's curl example works as written",
    async () => {
      const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
      const block = /<!-- registry-curl-example -->\n```bash\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(block).toBeDefined();
      const dir = tempDir("glaas-curl-");
      const key = makeKey("ed25519");
      const db = `sqlite:${join(dir, "reg.db")}`;
      expect((await roar(["server", "add-key", "alice", key.publicPath, "--db", db], { cwd: dir })).code).toBe(0);
      const reg = await startRegistry({ GLAAS_DATABASE_URL: db });
      try {
        const r = await run(["bash", "-euo", "pipefail", "-c", block as string], dir, {
          GLAAS: reg.url,
          KEY: key.privatePath,
        });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const answers = r.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { success: boolean; data: Record<string, unknown> });
        expect(answers.every((a) => a.success)).toBe(true);
        const lineage = answers.find((a) => "jobs" in a.data && "depth" in a.data)?.data as {
          jobs: { command: string }[];
        };
        expect(lineage.jobs.map((j) => j.command)).toEqual(["python train.py --epochs 10"]);
        expect(answers.at(-1)?.data).toMatchObject({ user: "alice", authenticated: true });
      } finally {
        await reg.stop();
      }
    },
    T,
  );
});
