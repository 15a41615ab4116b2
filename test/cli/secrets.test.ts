/**
 * Secrets through the real CLI: a job whose argv, [env], process environment and git remote carry secrets
 * prints `<redacted>` in every output (text and --json), while the database keeps the real argv and
 * `reproduce --run` re-runs it; the local record is readable by its owner only.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

/** The output depends on the exact argv, so an identical rebuild proves the real argv was re-run. */
const WRITE_PY = `import hashlib, sys
open(sys.argv[-1], "w").write(hashlib.sha256("\\0".join(sys.argv[1:-1]).encode()).hexdigest())
`;

const GH_TOKEN = "ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5";
const REMOTE = "https://ci:remotepw-9f8e7d@git.example.invalid/team/repo.git";
const PROCESS_ENV = { MY_SERVICE_TOKEN: "procsecret-314159" };

const ARGV_SECRETS = [
  "hunter2-pw",
  GH_TOKEN,
  "ZZZZyyyyXXXXwwww9999",
  "urlpw-555",
  "corp-literal-42",
  "TCK-123456",
  "procsecret-314159",
];
const ENV_SECRETS: Record<string, string> = {
  DB_PASS: "envpass-1234",
  GH_PAT: "ghpat-value-5678",
  MONGO_URI: "mongodb://admin:mongopw-4321@db.internal/x",
  SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/slackhooksecret",
  DATABASE_URL: "postgres://app:dburlpw-777@db.internal/app",
};
const SECRET_STRINGS = [
  ...ARGV_SECRETS,
  "envpass-1234",
  "ghpat-value-5678",
  "mongopw-4321",
  "slackhooksecret",
  "dburlpw-777",
  "remotepw-9f8e7d",
];

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** A repo whose origin URL carries credentials, mapped (insteadOf, in the test HOME) onto a local bare repo. */
async function secretRepo(): Promise<{ repo: string; argv: string[] }> {
  const bare = join(tempDir("roar-bare-"), "origin.git");
  Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
  const repo = tempRepo({ "write.py": WRITE_PY });
  mkdirSync(join(repo, ".test-home"), { recursive: true });
  writeFileSync(join(repo, ".test-home/.gitconfig"), `[url "${bare}"]\n\tinsteadOf = ${REMOTE}\n`);
  git(repo, "remote", "add", "origin", REMOTE);
  expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
  commitAll(repo, "init");
  git(repo, "push", "-q", "origin", "main");
  for (const [name, value] of Object.entries({ ...ENV_SECRETS, SEED: "42" })) {
    expect((await roar(["env", "set", name, value], { cwd: repo })).code).toBe(0);
  }
  expect(
    (await roar(["config", "set", "registration.omit.secrets.values", "corp-literal-42"], { cwd: repo })).code,
  ).toBe(0);
  appendFileSync(
    join(repo, ".roar/config.toml"),
    '\n[[registration.omit.patterns]]\nid = "ticket"\npattern = "TCK-[0-9]{6}"\ndescription = "tickets"\n',
  );
  const argv = [
    "python3",
    "write.py",
    "--password",
    "hunter2-pw",
    `--token=${GH_TOKEN}`,
    "--api-key",
    "ZZZZyyyyXXXXwwww9999",
    "https://user:urlpw-555@host.example/x",
    "corp-literal-42",
    "TCK-123456",
    "procsecret-314159",
    "out.txt",
  ];
  return { repo, argv };
}

function expectNoSecret(what: string, text: string): void {
  for (const secret of SECRET_STRINGS) {
    if (text.includes(secret)) throw new Error(`${what} shows the secret ${secret}:\n${text}`);
  }
}

describe.skipIf(!tracerAvailable)("secrets", () => {
  test("argv, [env], process env and remote secrets are redacted everywhere; the database keeps the argv", async () => {
    const { repo, argv } = await secretRepo();
    const opts = { cwd: repo, env: PROCESS_ENV };
    const run = await roar(["run", "--json", ...argv], opts);
    expect(run.code).toBe(0);
    expectNoSecret("roar run --json", run.stdout + run.stderr);
    const job = JSON.parse(run.stdout) as { command: string[]; env: Record<string, string> };
    expect(job.command).toEqual([
      "python3",
      "write.py",
      "--password",
      "<redacted>",
      "--token=<redacted>",
      "--api-key",
      "<redacted>",
      "https://<redacted>@host.example/x",
      "<redacted>",
      "<redacted>",
      "<redacted>",
      "out.txt",
    ]);
    expect(job.env).toEqual({
      DB_PASS: "<redacted>",
      GH_PAT: "<redacted>",
      MONGO_URI: "<redacted>",
      SLACK_WEBHOOK_URL: "<redacted>",
      DATABASE_URL: "<redacted>",
      SEED: "42",
    });
    const digest = b3sum(join(repo, "out.txt"));

    const outputs: [string, string[]][] = [
      ["show @1", ["show", "@1"]],
      ["show @1 --json", ["show", "@1", "--json"]],
      ["show (session)", ["show"]],
      ["show --json (session)", ["show", "--json"]],
      ["show artifact", ["show", "out.txt"]],
      ["show artifact --json", ["show", digest.slice(0, 16), "--json"]],
      ["log", ["log"]],
      ["log --json", ["log", "--json"]],
      ["dag", ["dag", "--expanded", "--show-artifacts"]],
      ["dag --json", ["dag", "--json"]],
      ["lineage", ["lineage", "out.txt"]],
      ["lineage --json", ["lineage", "out.txt", "--json"]],
      ["reproduce (plan)", ["reproduce", digest.slice(0, 16)]],
      ["reproduce --json (plan)", ["reproduce", digest.slice(0, 16), "--json"]],
      ["env list", ["env", "list"]],
      ["env list --json", ["env", "list", "--json"]],
      ["config list --json", ["config", "list", "--json"]],
      ["config get", ["config", "get", "registration.omit.secrets.values"]],
      ["dag --format dot", ["dag", "--format", "dot"]],
      ["dag --format mermaid", ["dag", "--format", "mermaid"]],
      ["dag --format svg", ["dag", "--format", "svg"]],
    ];
    for (const [what, args] of outputs) {
      const r = await roar(args, opts);
      expect(r.code).toBe(0);
      expectNoSecret(what, r.stdout + r.stderr);
      // (Mermaid writes < and > as #60; and #62;)
      expect(r.stdout).toContain("redacted");
    }
    // A job compared with itself: nothing differs, nothing secret shows.
    for (const args of [
      ["diff", "@1", "@1"],
      ["diff", "@1", "@1", "--json"],
    ]) {
      const r = await roar(args, opts);
      expect(r.code).toBe(0);
      expectNoSecret(args.join(" "), r.stdout + r.stderr);
    }
    const show = await roar(["show", "@1"], opts);
    expect(show.stdout).toContain("--password <redacted>");
    expect(show.stdout).toContain("SEED=42");
    expect(show.stdout).toContain("Remote:     https://<redacted>@git.example.invalid/team/repo.git");
    const log = await roar(["log", "--json"], opts);
    expect((JSON.parse(log.stdout) as { jobs: { command: string[] }[] }).jobs[0]?.command).toEqual(job.command);
    const dag = JSON.parse((await roar(["dag", "--json"], opts)).stdout) as { nodes: { command: string }[] };
    expect(dag.nodes[0]?.command).toContain("--password <redacted> --token=<redacted>");

    // The store keeps the real command line; [env] secrets are stored redacted.
    const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
    const row = db.query("SELECT argv, metadata FROM jobs").get() as { argv: string; metadata: string };
    db.close();
    expect(JSON.parse(row.argv)).toEqual(argv);
    for (const secret of Object.values(ENV_SECRETS)) expect(row.metadata).not.toContain(secret);

    // `env get --reveal` is the one way to read a stored secret back.
    expect((await roar(["env", "get", "DB_PASS"], opts)).stdout).toBe("<redacted>\n");
    expect((await roar(["env", "get", "DB_PASS", "--reveal"], opts)).stdout).toBe("envpass-1234\n");

    // Turning redaction off shows the command as recorded.
    const plain = await roar(["show", "@1", "--json"], {
      ...opts,
      env: { ...PROCESS_ENV, ROAR_REGISTRATION__OMIT__ENABLED: "false" },
    });
    expect((JSON.parse(plain.stdout) as { command: string[] }).command).toEqual(argv);

    // reproduce --run clones the real remote and re-runs the real argv: the rebuilt output is identical.
    const dest = join(tempDir(), "rebuild");
    const rebuilt = await roar(["reproduce", digest, "--run", "-y", "--dest", dest, "--json"], opts);
    expect(rebuilt.code).toBe(0);
    expect((JSON.parse(rebuilt.stdout) as { target: { state: string } }).target.state).toBe("identical");
    expect(b3sum(join(dest, "out.txt"))).toBe(digest);
    expect(rebuilt.stderr).toContain("[step 1/1]");
    expectNoSecret("reproduce --run", rebuilt.stdout + rebuilt.stderr);
  }, 180_000);

  test("the database, its WAL files and config.toml are readable by their owner only", async () => {
    const repo = tempRepo({
      "modes.py": `import os, sys
names = ["roar.db", "roar.db-wal", "roar.db-shm", "config.toml"]
open(sys.argv[1], "w").write(" ".join("%o" % (os.stat(os.path.join(".roar", n)).st_mode & 0o777) for n in names))
`,
    });
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo);
    expect(mode(join(repo, ".roar"))).toBe("700");
    expect(mode(join(repo, ".roar/roar.db"))).toBe("600");
    expect(mode(join(repo, ".roar/config.toml"))).toBe("600");
    expect((await roar(["env", "set", "SEED", "1"], { cwd: repo })).code).toBe(0);
    expect(mode(join(repo, ".roar/config.toml"))).toBe("600");
    // While roar runs a job its connection is open: the -wal and -shm files exist, with the database's mode.
    const r = await roar(["run", "-q", "python3", "modes.py", "modes.txt"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(readFileSync(join(repo, "modes.txt"), "utf8")).toBe("600 600 600 600");
    expect(mode(join(repo, ".roar/roar.db"))).toBe("600");
  }, 60_000);
});

describe("registration.omit.patterns", () => {
  test("listed by id, validated, and not settable with config set", async () => {
    const repo = tempRepo();
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    const config = join(repo, ".roar/config.toml");
    appendFileSync(config, '\n[[registration.omit.patterns]]\nid = "ticket"\npattern = "TCK-[0-9]{6}"\n');
    const list = await roar(["config", "list"], { cwd: repo });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/registration\.omit\.patterns\s+ticket /);
    const set = await roar(["config", "set", "registration.omit.patterns", "x"], { cwd: repo });
    expect(set.code).toBe(1);
    expect(set.stderr).toContain("array of tables");
    appendFileSync(config, '\n[[registration.omit.patterns]]\nid = "broken"\npattern = "(["\n');
    const bad = await roar(["config", "list"], { cwd: repo });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("invalid regular expression in registration.omit.patterns");
    expect(bad.stderr).toContain("'broken'");
  });
});
