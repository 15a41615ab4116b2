/**
 * `roar register` and `roar auth test` against the real registry on SQLite: secrets never reach the server (its
 * database file is read directly), every target kind, tagging and pushing, batches split under a small body
 * limit, the anonymous fall-back (forged keys and tampered bodies: register-e2e.test.ts), and `glaas.url` switched off.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, git, hermeticEnv, ROAR_BIN, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { api, makeKey } from "../helpers/glaas.ts";
import { b3sum } from "../helpers/reference.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";
import { registerPipeline, A as SEEDED } from "./pipeline.ts";
import {
  type EnrolledRegistry,
  enrolledRegistry,
  projectWithOrigin,
  run,
  threeSteps,
  tracerAvailable,
} from "./projects.ts";

const T = 180_000;
let r: EnrolledRegistry;
let s3: S3TestServer;

beforeAll(async () => {
  r = await enrolledRegistry(`sqlite:${join(tempDir("glaas-db-"), "registry.db")}`);
  s3 = await startS3Server(["roar-reg"]);
}, T);

afterAll(async () => {
  await r?.reg.stop();
  await s3?.close();
});

/** Every text value of every row of the registry's database (read directly, not through the API). */
function serverText(dbUrl: string): string {
  const db = new Database(dbUrl.replace(/^sqlite:/, ""), { readonly: true });
  try {
    const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables
      .flatMap((t) => db.query(`SELECT * FROM "${t.name}"`).all() as Record<string, unknown>[])
      .map((row) => JSON.stringify(row))
      .join("\n");
  } finally {
    db.close();
  }
}

/** roar on a pseudo-terminal (script(1)), with `input` typed. */
async function onTerminal(args: string[], cwd: string, env: Record<string, string>, input: string) {
  const proc = Bun.spawn(["script", "-qec", [ROAR_BIN, ...args].join(" "), "/dev/null"], {
    cwd,
    env: hermeticEnv(join(cwd, ".test-home"), env),
    stdin: new TextEncoder().encode(input),
    stdout: "pipe",
  });
  const screen = await new Response(proc.stdout).text();
  return { code: await proc.exited, screen };
}

interface RegisterJson {
  user: string;
  anonymous: boolean;
  sessions: { hash: string }[];
  jobs: { uid: string; label: string; command: string }[];
  counts: { jobs: number; artifacts: number; links: number; collapsed: number };
  redactions: { where: string; ids: string[] }[];
  secretTypes: string[];
  tags: string[];
  pushed: boolean | null;
  blockedBy: string | null;
}

describe.skipIf(!tracerAvailable)("roar register", () => {
  test(
    "secrets in argv, [env], the process environment, literal values and the git remote never reach the server",
    async () => {
      const repo = tempRepo({ "echo.py": "import sys\nopen('out.txt', 'w').write(str(len(sys.argv)))\n" });
      const secrets = {
        github: "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        password: "hunter2-correct-horse",
        openai: "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
        processEnv: "tok-process-env-9f8e7d6c5b4a",
        literal: "corp-internal-7a6b5c4d",
        envTable: "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        remotePassword: "gitpass-0f1e2d3c4b5a",
      };
      git(repo, "remote", "add", "origin", `https://deploy:${secrets.remotePassword}@git.example.com/team/repo.git`);
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      await roar(["config", "set", "registration.omit.secrets.values", secrets.literal], { cwd: repo });
      await roar(["env", "set", "HF_TOKEN", secrets.envTable], { cwd: repo });
      commitAll(repo, "roar");
      const env = { ...r.asAlice, MY_SERVICE_TOKEN: secrets.processEnv };
      await run(
        repo,
        [
          "python3",
          "echo.py",
          secrets.github,
          "--password",
          secrets.password,
          `--api-key=${secrets.openai}`,
          secrets.processEnv,
          `--tag=${secrets.literal}`,
        ],
        env,
      );

      const dry = await roar(["register", "--dry-run", "out.txt"], { cwd: repo, env });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain("Secrets to redact:");
      for (const id of ["github_token", "generic_password_arg", "explicit_secret", "git_url_creds"])
        expect(dry.stdout).toContain(id);
      // Off a terminal without -y: refused in one line, nothing sent.
      const refused = await roar(["register", "out.txt"], { cwd: repo, env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("refusing to register without confirmation (not a terminal)");
      expect(refused.stderr).toContain("-y");
      expect(serverText(r.db)).not.toContain("echo.py");
      // On a terminal the question defaults to No.
      const asked = await onTerminal(["register", "out.txt"], repo, env, "\n");
      expect(asked.code).toBe(1);
      expect(asked.screen).toMatch(
        /Detected \d+ potential secret type\(s\) that will be redacted: git_url_creds, github_token/,
      );
      expect(asked.screen).toContain("Continue with registration? (secrets will be redacted) [y/N]");
      expect(asked.screen).toContain("Registration aborted.");
      expect(serverText(r.db)).not.toContain("echo.py");

      const done = await roarJson<RegisterJson>(["register", "-y", "out.txt", "--json"], { cwd: repo, env });
      expect(done.user).toBe("alice");
      expect(done.jobs).toHaveLength(1);
      expect(done.jobs[0]?.command).toContain("<redacted>");
      for (const output of [dry.stdout, dry.stderr, refused.stderr, asked.screen, JSON.stringify(done)])
        for (const secret of Object.values(secrets)) expect(output).not.toContain(secret);

      const stored = serverText(r.db);
      expect(stored).toContain("echo.py");
      expect(stored).toContain("<redacted>");
      expect(stored).toContain("HF_TOKEN");
      expect(stored).toContain("git.example.com/team/repo.git");
      for (const secret of Object.values(secrets)) expect(stored).not.toContain(secret);
    },
    T,
  );

  test(
    "every target kind: path, digest prefix, job uid, @N, @BN, session hash, s3:// location, the current session",
    async () => {
      const { repo } = await projectWithOrigin({ "tool.py": "open('tool.txt', 'w').write('tool v1')\n" });
      const b = await roar(["build", "-q", "python3", "tool.py"], { cwd: repo });
      expect(b.code).toBe(0);
      await threeSteps(repo);
      const s3env = s3.env();
      const put = await roar(["put", "model.txt", "s3://roar-reg/models/", "-m", "model"], {
        cwd: repo,
        env: s3env,
      });
      expect(put.code).toBe(0);
      const dry = async (target: string[]) => {
        const out = await roarJson<RegisterJson>(["register", "--dry-run", "--json", ...target], {
          cwd: repo,
          env: { ...r.asAlice, ...s3env },
        });
        return out;
      };
      const labels = (d: RegisterJson) => d.jobs.map((j) => j.label);
      const model = b3sum(join(repo, "model.txt"));
      expect(labels(await dry(["model.txt"]))).toEqual(["@B1", "@2", "@3"]);
      expect(labels(await dry([model.slice(0, 16)]))).toEqual(["@B1", "@2", "@3"]);
      expect(labels(await dry(["@2"]))).toEqual(["@B1", "@2"]);
      expect(labels(await dry(["@B1"]))).toEqual(["@B1"]);
      const show = await roarJson<{ uid: string }>(["show", "@3", "--json"], { cwd: repo });
      expect(labels(await dry([show.uid.slice(0, 8)]))).toEqual(["@B1", "@2", "@3"]);
      const remote = await dry(["s3://roar-reg/models/model.txt"]);
      expect(labels(remote)).toEqual(["@B1", "@2", "@3", "@5"]);
      const session = await dry([]);
      expect(labels(session)).toEqual(["@B1", "@2", "@3", "@4", "@5"]);
      const sessionHash = session.sessions[0]?.hash ?? "";
      expect(labels(await dry([sessionHash.slice(0, 12)]))).toEqual(labels(session));
      const missing = await roar(["register", "--dry-run", "0123456789abcdef"], { cwd: repo, env: r.asAlice });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("Not found");
      expect(missing.stderr.trim().split("\n")[0]).toMatch(/^roar: /);
      const external = await roar(["register", "--dry-run", "data.txt"], { cwd: repo, env: r.asAlice });
      expect(external.code).toBe(1);
      expect(external.stderr).toContain("not produced by any recorded job");

      // A re-run with identical inputs and outputs is one job for the registry (the latest).
      const rerun = await roar(["run", "-q", "@2"], { cwd: repo });
      expect(rerun.code).toBe(0);
      const collapsed = await dry(["model.txt"]);
      expect(labels(collapsed)).toEqual(["@B1", "@3", "@2"]); // recording order: the re-run came last
      expect(collapsed.counts.collapsed).toBe(1);
      const latest = await roarJson<{ uid: string }>(["show", "@2", "--json"], { cwd: repo });
      expect(collapsed.jobs.find((j) => j.label === "@2")?.uid).toBe(latest.uid);

      // The s3:// target goes through: the put job's remote output is registered with its location.
      const sent = await roarJson<RegisterJson>(["register", "-y", "--json", "s3://roar-reg/models/model.txt"], {
        cwd: repo,
        env: { ...r.asAlice, ...s3env },
      });
      expect(sent.counts.jobs).toBe(4);
      const detail = await api<{ locations: { url: string }[] }>(r.reg.url, "GET", `/api/v1/artifacts/${model}`);
      expect(detail.body.data.locations.map((l) => l.url)).toEqual(["s3://roar-reg/models/model.txt"]);
    },
    T,
  );

  test(
    "tagging: uncommitted changes are refused, commits tagged roar/<commit>, pushed only when configured",
    async () => {
      const { repo, bare } = await projectWithOrigin();
      await run(repo, ["python3", "preprocess.py", "data.txt", "features.txt"]);
      writeFileSync(join(repo, "train.py"), `${readFileSync(join(repo, "train.py"), "utf8")}# v2\n`);
      const dirty = await roar(["register", "-y", "features.txt"], { cwd: repo, env: r.asAlice });
      expect(dirty.code).toBe(1);
      expect(dirty.stderr).toContain("Cannot register with uncommitted changes. Commit your changes first.");
      expect(dirty.stderr).toContain("train.py");
      const preview = await roarJson<RegisterJson>(["register", "--dry-run", "--json", "features.txt"], {
        cwd: repo,
        env: r.asAlice,
      });
      expect(preview.blockedBy).toContain("uncommitted");
      commitAll(repo, "train v2"); // a commit that is not pushed
      await run(repo, ["python3", "train.py", "features.txt", "model.txt"]);
      const first = git(repo, "rev-parse", "HEAD~1").trim();
      const second = git(repo, "rev-parse", "HEAD").trim();

      const local = await roar(["register", "-y", "model.txt", "--json"], { cwd: repo, env: r.asAlice });
      expect(local.code).toBe(0);
      const doc = JSON.parse(local.stdout) as RegisterJson;
      expect(doc.tags.sort()).toEqual([`roar/${first}`, `roar/${second}`].sort());
      expect(git(repo, "tag", "--list", "roar/*").trim().split("\n").sort()).toEqual(doc.tags.sort());
      expect(local.stderr).toContain("on no branch of origin");
      expect(local.stderr).toContain(second.slice(0, 8));
      expect(git(bare, "tag", "--list").trim()).toBe("");

      await roar(["config", "set", "registration.tagging.push", "true"], { cwd: repo });
      const pushed = await roarJson<RegisterJson>(["register", "-y", "model.txt", "--json"], {
        cwd: repo,
        env: r.asAlice,
      });
      expect(pushed.pushed).toBe(true);
      expect(git(bare, "tag", "--list").trim().split("\n").sort()).toEqual(doc.tags.sort());
      // The pushed tag makes the unpushed commit reachable on the remote.
      expect(git(bare, "cat-file", "-t", second).trim()).toBe("commit");

      // Tagging off: uncommitted changes no longer block, and nothing is tagged.
      writeFileSync(join(repo, "README.md"), "changed\n");
      await roar(["config", "set", "registration.tagging.enabled", "false"], { cwd: repo });
      const untagged = await roarJson<RegisterJson>(["register", "-y", "model.txt", "--json"], {
        cwd: repo,
        env: r.asAlice,
      });
      expect(untagged.tags).toEqual([]);
    },
    T,
  );

  test(
    "a registry with a small body limit gets the batches in halves; everything arrives",
    async () => {
      const small = await enrolledRegistry(`sqlite:${join(tempDir("glaas-db-"), "small.db")}`, {
        GLAAS_MAX_BODY_BYTES: "8192",
      });
      try {
        const repo = tempRepo({
          "many.py":
            "import os\nos.makedirs('parts', exist_ok=True)\nfor i in range(300):\n    open(f'parts/p{i:03d}.txt', 'w').write(str(i))\n",
        });
        expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
        commitAll(repo, "roar");
        await run(repo, ["python3", "many.py"]);
        const sent = await roarJson<RegisterJson>(["register", "-y", "--json", "@1"], {
          cwd: repo,
          env: small.asAlice,
        });
        expect(sent.counts).toMatchObject({ jobs: 1, artifacts: 300, links: 300 });
        const session = await api<{ jobs: { outputs: unknown[] }[] }>(
          small.reg.url,
          "GET",
          `/api/v1/sessions/${sent.sessions[0]?.hash}`,
        );
        expect(session.body.data.jobs[0]?.outputs).toHaveLength(300);
        const artifacts = await api<{ total: number }>(small.reg.url, "GET", "/api/v1/artifacts?limit=1");
        expect(artifacts.body.data.total).toBe(300);
      } finally {
        await small.reg.stop();
      }
    },
    T,
  );

  test(
    "no key: registers as anonymous with a one-line notice; a key the server does not know falls back once",
    async () => {
      const { repo } = await projectWithOrigin();
      await run(repo, ["python3", "preprocess.py", "data.txt", "features.txt"]);
      const anonymous = await roar(["register", "-y", "@1"], { cwd: repo, env: r.anonymous });
      expect(anonymous.code).toBe(0);
      const notices = anonymous.stderr.split("\n").filter((l) => l.includes("registering as anonymous"));
      expect(notices).toHaveLength(1);
      expect(anonymous.stdout).toContain("As:        anonymous");
      const stranger = makeKey("ed25519");
      const fallback = await roar(["register", "-y", "@1"], {
        cwd: repo,
        env: { ...r.anonymous, ROAR_SSH_KEY: stranger.privatePath },
      });
      expect(fallback.code).toBe(0);
      expect(fallback.stderr.match(/continuing as anonymous/g)).toHaveLength(1);
      expect(fallback.stderr).toContain("unknown key");
      // alice takes the anonymous records over; afterwards the stranger's fall-back cannot change them.
      expect((await roar(["register", "-y", "@1"], { cwd: repo, env: r.asAlice })).code).toBe(0);
      const refused = await roar(["register", "-y", "@1"], {
        cwd: repo,
        env: { ...r.anonymous, ROAR_SSH_KEY: stranger.privatePath },
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("HTTP 403");
    },
    T,
  );
});

describe("roar auth test", () => {
  test("an enrolled key: the server is reachable and the signature accepted, as alice", async () => {
    const dir = tempRepo();
    const ok = await roar(["auth", "test"], { cwd: dir, env: r.asAlice });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("is reachable");
    expect(ok.stdout).toContain(`Authentication successful! Signed in as alice (key ${r.alice.fingerprint})`);
    const json = await roarJson<{ authenticated: boolean; user: string }>(["auth", "test", "--json"], {
      cwd: dir,
      env: r.asAlice,
    });
    expect(json).toMatchObject({ authenticated: true, user: "alice" });
  });

  test("an unknown key, no key, no server: the reason, exit 1, never anonymous", async () => {
    const dir = tempRepo();
    const stranger = makeKey("ed25519");
    const unknown = await roar(["auth", "test"], {
      cwd: dir,
      env: { ...r.anonymous, ROAR_SSH_KEY: stranger.privatePath },
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Authentication failed: unknown key");
    expect(unknown.stderr).not.toContain("anonymous");
    const none = await roar(["auth", "test"], { cwd: dir, env: r.anonymous });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("cannot test authentication: no SSH key found");
    const down = await roar(["auth", "test"], { cwd: dir, env: { ...r.asAlice, GLAAS_URL: "http://127.0.0.1:1" } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach the registry at http://127.0.0.1:1");
  });
});

describe("reproduce from the registry, and glaas.url", () => {
  test("jobs registered by another client (command strings only) are planned from their words, and said so", async () => {
    await registerPipeline(r.reg.url, r.alice, "cd".repeat(32));
    const dir = tempDir("roar-nothing-");
    const preview = await roarJson<{ plan: { steps: { step: string; command: string[] }[]; notes: string[] } }>(
      ["reproduce", SEEDED.report.slice(0, 12), "--json"],
      { cwd: dir, env: r.anonymous },
    );
    expect(preview.plan.steps.map((s) => s.command)).toEqual([
      ["pip", "install", "-e", "."],
      ["python", "preprocess.py", "--input", "data.csv", "--output", "features.parquet"],
      ["python", "train.py", "--data", "features.parquet", "--output", "model.pt", "--epochs", "10"],
      ["python", "evaluate.py", "models/model.pt", "data.csv"],
    ]);
    expect(preview.plan.notes.filter((n) => n.includes("split into shell words"))).toHaveLength(4);
    const unknown = await roar(["reproduce", "0123456789abcdef"], { cwd: dir, env: r.anonymous });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`nor in the registry at ${r.reg.url}`);
  });

  test.skipIf(!tracerAvailable)(
    "outside any clone: the plan says the tracked inputs are checked later; --run clones first and rebuilds",
    async () => {
      const { repo } = await projectWithOrigin();
      await run(repo, ["python3", "preprocess.py", "data.txt", "features.txt"]);
      await run(repo, ["python3", "train.py", "features.txt", "model.txt"]);
      expect((await roar(["register", "-y", "model.txt"], { cwd: repo, env: r.asAlice })).code).toBe(0);
      const model = b3sum(join(repo, "model.txt"));
      const nowhere = tempDir("roar-nowhere-");
      const plan = await roarJson<{ plan: { externalInputs: { path: string; availability: string }[] } }>(
        ["reproduce", model.slice(0, 12), "--json"],
        { cwd: nowhere, env: r.anonymous },
      );
      expect(plan.plan.externalInputs).toEqual([
        expect.objectContaining({ path: "data.txt", availability: "unchecked" }),
      ]);
      const dest = join(nowhere, "rebuild");
      const rebuilt = await roar(["reproduce", model.slice(0, 12), "--run", "-y", "--dest", dest, "--json"], {
        cwd: nowhere,
        env: r.anonymous,
      });
      expect(rebuilt.code).toBe(0);
      expect(JSON.parse(rebuilt.stdout).target.state).toBe("identical");
      expect(b3sum(join(dest, "model.txt"))).toBe(model);
    },
    T,
  );

  test("glaas.url empty: no registry is asked, register says how to set one", async () => {
    const repo = tempRepo();
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    expect((await roar(["config", "set", "glaas.url", ""], { cwd: repo })).code).toBe(0);
    commitAll(repo, "roar");
    await run(repo, ["python3", "-c", "open('x.txt','w').write('x')"]);
    const reg = await roar(["register", "-y", "@1"], { cwd: repo, env: r.asAlice });
    expect(reg.code).toBe(1);
    expect(reg.stderr).toContain("no registry configured (glaas.url is empty)");
    const repro = await roar(["reproduce", "0123456789abcdef"], { cwd: repo, env: r.asAlice });
    expect(repro.code).toBe(1);
    expect(repro.stderr).toContain("no registry is configured");
    const list = await roarJson<{ keys: { key: string; description: string }[] }>(["config", "list", "--json"], {
      cwd: repo,
    });
    const described = new Map(list.keys.map((k) => [k.key, k.description]));
    expect(described.get("registration.tagging.push")).toContain("push");
    expect(described.get("glaas.web_url")).toContain("links");
  });
});
