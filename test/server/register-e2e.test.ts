/**
 * The whole round trip against the real registry process on loopback, on SQLite and on PostgreSQL: a 3-step
 * pipeline recorded in one clone is registered (signed by an enrolled key), registered again (nothing changes),
 * then rebuilt from the registry in a second, empty clone — no .roar, no history — and verified `identical`.
 * An anonymous client cannot overwrite what alice registered; a forged signature, a tampered body and an unknown
 * key are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPrivateKey, parsePublicKey, type SshSigningKey } from "../../src/auth/ssh-key.ts";
import { RegistryClient, type RegistryRequestError } from "../../src/registry/client.ts";
import { git, roar, roarJson, tempDir } from "../helpers/cli.ts";
import { api, makeKey } from "../helpers/glaas.ts";
import { type PgCluster, startPostgres } from "../helpers/postgres.ts";
import { b3sum } from "../helpers/reference.ts";
import { type EnrolledRegistry, enrolledRegistry, projectWithOrigin, threeSteps, tracerAvailable } from "./projects.ts";

const T = 240_000;
let pg: PgCluster;

beforeAll(async () => {
  pg = await startPostgres();
}, T);

afterAll(async () => {
  await pg?.stop();
});

const backends = [
  { name: "sqlite", db: async () => `sqlite:${join(tempDir("glaas-db-"), "registry.db")}` },
  { name: "postgres", db: async () => pg.createDatabase(`glaas_${Math.random().toString(36).slice(2, 10)}`) },
];

interface RegisterJson {
  user: string;
  anonymous: boolean;
  sessions: { hash: string; url: string }[];
  jobs: { label: string; command: string }[];
  counts: { jobs: number; artifacts: number; links: number };
  urls: { session: string; artifact: string };
  tags: string[];
}

describe.skipIf(!tracerAvailable).each(backends)("register and reproduce through the registry on $name", (backend) => {
  let r: EnrolledRegistry;

  beforeAll(async () => {
    r = await enrolledRegistry(await backend.db());
  }, T);

  afterAll(async () => {
    await r?.reg.stop();
  });

  test(
    "a 3-step pipeline registered from one clone rebuilds identical in a second, empty clone",
    async () => {
      const { repo, bare } = await projectWithOrigin();
      const score = await threeSteps(repo);
      const digest = b3sum(score);

      const first = await roarJson<RegisterJson>(["register", "-y", "score.txt", "--json"], {
        cwd: repo,
        env: r.asAlice,
      });
      expect(first.user).toBe("alice");
      expect(first.anonymous).toBe(false);
      expect(first.jobs.map((j) => `${j.label} ${j.command}`)).toEqual([
        "@1 python3 preprocess.py data.txt features.txt",
        "@2 python3 train.py features.txt model.txt",
        "@3 python3 evaluate.py model.txt data.txt score.txt",
      ]);
      // data.txt, features.txt, model.txt, score.txt; 2 + 2 + 3 links
      expect(first.counts).toMatchObject({ jobs: 3, artifacts: 4, links: 7 });
      const session = first.sessions[0]?.hash as string;
      expect(first.urls.session).toBe(`${r.reg.url}/dag/${session}`);
      expect(first.urls.artifact).toBe(`${r.reg.url}/artifact/${digest}`);

      // The registry holds what was sent, attributed to alice, with argv and cwd in the metadata.
      const stored = await api<{ user: string; jobs: { command: string; metadata: string; user: string }[] }>(
        r.reg.url,
        "GET",
        `/api/v1/sessions/${session}`,
      );
      expect(stored.body.data.user).toBe("alice");
      expect(stored.body.data.jobs.map((j) => j.user)).toEqual(["alice", "alice", "alice"]);
      const meta = JSON.parse(stored.body.data.jobs[0]?.metadata as string);
      expect(meta).toMatchObject({ argv: ["python3", "preprocess.py", "data.txt", "features.txt"], cwd: "" });
      expect(meta.git.remote).toBe(bare);

      // Registering again changes nothing on the server.
      const artifactsBefore = await api<{ total: number }>(r.reg.url, "GET", "/api/v1/artifacts?limit=1");
      const text = await roar(["register", "-y", "score.txt"], { cwd: repo, env: r.asAlice });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain("Registered lineage for: score.txt");
      expect(text.stdout).toContain(`roar reproduce ${digest}`);
      const again = await api<{ jobs: unknown[] }>(r.reg.url, "GET", `/api/v1/sessions/${session}`);
      expect(again.body.data.jobs).toHaveLength(3);
      const artifactsAfter = await api<{ total: number }>(r.reg.url, "GET", "/api/v1/artifacts?limit=1");
      expect(artifactsAfter.body.data.total).toBe(artifactsBefore.body.data.total);

      // A second clone: no .roar, no history; the lineage comes from the registry.
      const second = join(tempDir("roar-clone-"), "pipeline");
      git(tempDir(), "clone", "-q", bare, second);
      expect(existsSync(join(second, ".roar"))).toBe(false);
      const preview = await roarJson<{ plan: { origin: string; steps: { step: string; command: string[] }[] } }>(
        ["reproduce", digest.slice(0, 16), "--json"],
        { cwd: second, env: r.anonymous },
      );
      expect(preview.plan.origin).toBe(r.reg.url);
      expect(preview.plan.steps.map((s) => s.command.join(" "))).toEqual([
        "python3 preprocess.py data.txt features.txt",
        "python3 train.py features.txt model.txt",
        "python3 evaluate.py model.txt data.txt score.txt",
      ]);
      const dest = join(tempDir(), "rebuild");
      const rebuilt = await roar(["reproduce", digest.slice(0, 16), "--run", "-y", "--dest", dest, "--json"], {
        cwd: second,
        env: r.anonymous,
      });
      expect(rebuilt.stderr).toContain(`using its lineage from the registry at ${r.reg.url}`);
      expect(rebuilt.code).toBe(0);
      const report = JSON.parse(rebuilt.stdout) as {
        target: { state: string };
        artifacts: { path: string; state: string }[];
      };
      expect(report.target.state).toBe("identical");
      expect(report.artifacts.map((a) => [a.path, a.state]).sort()).toEqual([
        ["features.txt", "identical"],
        ["model.txt", "identical"],
        ["score.txt", "identical"],
      ]);
      expect(b3sum(join(dest, "score.txt"))).toBe(digest);
      // The second clone itself was not turned into a roar project.
      expect(existsSync(join(second, ".roar"))).toBe(false);

      // An anonymous client cannot overwrite what alice registered.
      const anonymous = await roar(["register", "-y", "score.txt"], { cwd: repo, env: r.anonymous });
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toContain("registering as anonymous");
      expect(anonymous.stderr).toContain("HTTP 403");
      expect(anonymous.stderr).toContain("registered by alice");
      const still = await api<{ user: string }>(r.reg.url, "GET", `/api/v1/sessions/${session}`);
      expect(still.body.data.user).toBe("alice");
    },
    T,
  );

  test("a forged signature, a tampered body and an unknown key are refused (401), nothing written", async () => {
    const aliceKey = loadPrivateKey(readFileSync(r.alice.privatePath, "utf8"));
    const mallory = loadPrivateKey(readFileSync(makeKey("ed25519").privatePath, "utf8"));
    if (!("key" in aliceKey) || !("key" in mallory)) throw new Error("test keys are not encrypted");
    const hash = createHash("sha256").update(`forged-${backend.name}`).digest("hex");
    const body = { hash, git_repo: null, git_commit: null, git_branch: "main" };
    // alice's key id, mallory's signature
    const forged: SshSigningKey = { ...parsePublicKey(r.alice.publicLine), sign: (d) => mallory.key.sign(d) };
    const byForger = new RegistryClient({ baseUrl: r.reg.url, key: forged });
    const refused = (await byForger
      .request("POST", "/api/v1/sessions", body)
      .catch((e: unknown) => e)) as RegistryRequestError;
    expect(refused.status).toBe(401);
    expect(refused.detail).toContain("signature does not match the request");
    // alice's real signature over a body a proxy changed in flight
    const tampering = new RegistryClient({
      baseUrl: r.reg.url,
      key: aliceKey.key,
      fetch: (url, init) => fetch(url, { ...init, body: String(init.body).replace('"main"', '"evil"') }),
    });
    const tampered = (await tampering
      .request("POST", "/api/v1/sessions", body)
      .catch((e: unknown) => e)) as RegistryRequestError;
    expect(tampered.status).toBe(401);
    expect(tampered.detail).toContain("signature does not match the request");
    expect((await api(r.reg.url, "GET", `/api/v1/sessions/${hash}`)).status).toBe(404);
    const stranger = makeKey("ed25519");
    const unknown = await roar(["auth", "test"], {
      cwd: tempDir(),
      env: { ...r.anonymous, ROAR_SSH_KEY: stranger.privatePath },
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Authentication failed: unknown key");
    const ok = await roar(["auth", "test"], { cwd: tempDir(), env: r.asAlice });
    expect(ok.stdout).toContain("Authentication successful! Signed in as alice");
  });
});
