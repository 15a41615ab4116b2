/**
 * The pure parts of registration: which jobs are sent (closure, builds, re-runs collapsed), the session hash,
 * shell words, batch slicing, redaction notes, portable remotes; and the client's error wording against small
 * loopback servers that answer like other registries (FastAPI detail, HTML, an empty body).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { IoFlags } from "../../src/core/io-flags.ts";
import { registrationLineage, sessionHash } from "../../src/core/register-lineage.ts";
import { SecretDetector } from "../../src/core/secrets.ts";
import { shellJoin, shellWords } from "../../src/core/shell-words.ts";
import type { IoRecord, JobWithIo } from "../../src/core/types.ts";
import { RegistryClient, type RegistryRequestError, slices } from "../../src/registry/client.ts";
import { buildRegistration, portableRemote } from "../../src/registry/payload.ts";
import { jobFromRegistry } from "../../src/registry/plan-source.ts";

const io = (path: string, blake3: string | null, flags = 0): IoRecord => ({ path, blake3, size: 1, flags });

function job(uid: string, seq: number, o: Partial<JobWithIo> = {}): JobWithIo {
  return {
    uid,
    seq,
    sessionId: 1,
    step: seq,
    stepIdentity: uid,
    kind: "run",
    name: null,
    argv: ["python3", `${uid}.py`],
    cwd: "",
    startedAt: seq * 1000,
    durationMs: 10,
    traceMs: null,
    postMs: null,
    exitCode: 0,
    signal: null,
    status: "ok",
    git: { commit: "c1", branch: "main", remoteUrl: "/srv/origin.git", clean: true },
    trace: {},
    metadata: {},
    inputs: [],
    outputs: [],
    ...o,
  };
}

function source(jobs: JobWithIo[]) {
  return {
    producers: (b: string) => jobs.filter((j) => j.outputs.some((o) => o.blake3 === b)),
    sessionBuilds: (s: number) => jobs.filter((j) => j.kind === "build" && j.sessionId === s),
  };
}

const detector = new SecretDetector({
  enabled: true,
  secrets: { values: [] },
  env_vars: { names: [] },
  allowlist: { patterns: [] },
  patterns: [],
});

describe("registration lineage", () => {
  test("the upstream closure plus current builds; unrelated jobs and failed producers left out", () => {
    const build = job("b", 1, { kind: "build", outputs: [io("tool", "t1")] });
    const oldBuild = job("b0", 0, { kind: "build", step: 1, outputs: [io("tool", "t0")] });
    const a = job("a", 2, { inputs: [io("data", "d")], outputs: [io("x", "x1")] });
    const failed = job("f", 3, { status: "failed", outputs: [io("x", "x1")] });
    const other = job("o", 4, { outputs: [io("noise", "n")] });
    const b = job("c", 5, { inputs: [io("x", "x1")], outputs: [io("y", "y1")] });
    const all = [oldBuild, build, a, failed, other, b];
    const got = registrationLineage([b], source(all));
    expect(got.jobs.map((j) => j.uid)).toEqual(["b", "a", "c"]);
    expect(got.collapsed).toBe(0);
  });

  test("re-runs with identical inputs and outputs collapse to the latest; a put's remote copy produces nothing local", () => {
    const a1 = job("a1", 1, { inputs: [io("data", "d")], outputs: [io("x", "x1")] });
    const a2 = job("a2", 3, { inputs: [io("data", "d")], outputs: [io("x", "x1")] });
    const put = job("p", 4, { kind: "put", inputs: [io("y", "y1")], outputs: [io("s3://b/y", "y1", IoFlags.REMOTE)] });
    const c = job("c", 2, { inputs: [io("x", "x1")], outputs: [io("y", "y1")] });
    const d = job("d", 5, { inputs: [io("y", "y1")], outputs: [io("z", "z1")] });
    const got = registrationLineage([d], source([a1, c, a2, put, d]));
    expect(got.jobs.map((j) => j.uid)).toEqual(["c", "a2", "d"]);
    expect(got.collapsed).toBe(1);
  });

  test("the session hash is sha256 of the session uid: the same from any directory", () => {
    expect(sessionHash("0123abcd")).toBe(createHash("sha256").update("0123abcd").digest("hex"));
  });
});

describe("payloads", () => {
  test("commands, metadata and the remote are redacted, with a note saying where and which detector", () => {
    const secret = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
    const j = job("a", 1, {
      argv: ["python3", "t.py", "--password", "hunter2", secret],
      metadata: { env: { API_TOKEN: "plain-looking-value", SEED: "42" } },
      outputs: [io("out", "o1"), io("gone", null)],
    });
    const reg = buildRegistration([j], {
      sessionHashOf: () => "ab".repeat(32),
      git: { remote: "https://me:pw123456@git.example.com/r.git", commit: "c1", branch: "main" },
      projectDir: "",
      gitRoot: "/work/repo",
      detector,
    });
    const text = JSON.stringify(reg);
    expect(text).not.toContain(secret);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("pw123456");
    expect(text).not.toContain("plain-looking-value");
    expect(reg.jobs[0]?.payload.command).toBe("python3 t.py --password <redacted> <redacted>");
    const where = Object.fromEntries(reg.redactions.map((r) => [r.where, r.ids]));
    expect(where["@1 command"]).toEqual(expect.arrayContaining(["github_token", "generic_password_arg"]));
    expect(where["@1 metadata env API_TOKEN"]).toEqual(["secret_env_name"]);
    expect(where["git remote"]).toEqual(["git_url_creds"]);
    // A deleted output has no content to link.
    expect(reg.links.map((l) => l.items.map((i) => i.path))).toEqual([["out"]]);
    expect(JSON.parse(reg.jobs[0]?.payload.metadata as string).env.SEED).toBe("42");
  });

  test("a relative local remote is made absolute; URLs and host:path stay", () => {
    expect(portableRemote("../origin.git", "/work/repo")).toBe("/work/origin.git");
    expect(portableRemote("https://h/x.git", "/work/repo")).toBe("https://h/x.git");
    expect(portableRemote("git@github.com:me/x.git", "/work/repo")).toBe("git@github.com:me/x.git");
    expect(portableRemote("/srv/x.git", "/work/repo")).toBe("/srv/x.git");
  });

  test("a registered job reads back with its argv, or with its command's shell words and a note", () => {
    const argv = ["python3", "a b.py", "--msg", "it's", ""];
    const dag = {
      jobUid: "u1",
      sessionHash: "s",
      jobType: "run",
      stepNumber: 2,
      command: shellJoin(argv),
      timestamp: 10,
      durationSeconds: 1,
      exitCode: 0,
      gitCommit: "c",
      gitBranch: "main",
      inputs: [],
      outputs: [{ hash: "h", path: "s3://b/k", size: 1 }],
    };
    const fromRoar = jobFromRegistry(
      { ...dag, metadata: JSON.stringify({ roar: { format: 1 }, argv, cwd: "sub" }) },
      1,
      1,
      null,
    );
    expect(fromRoar.job.argv).toEqual(argv);
    expect(fromRoar.job.cwd).toBe("sub");
    expect(fromRoar.notes).toEqual([]);
    expect(fromRoar.job.outputs[0]?.flags).toBe(IoFlags.REMOTE);
    const other = jobFromRegistry({ ...dag, metadata: null }, 1, 1, "https://h/r.git");
    expect(other.job.argv).toEqual(argv);
    expect(other.notes[0]).toContain("split into shell words");
    expect((other.job.git as { remoteUrl: string }).remoteUrl).toBe("https://h/r.git");
  });
});

describe("shell words and batches", () => {
  test("shellWords reads back what shellJoin wrote, and common shell quoting", () => {
    for (const argv of [["a"], ["x y", "it's", "", "$HOME", 'q"q', "tab\there"], ["--k=v w"]])
      expect(shellWords(shellJoin(argv))).toEqual(argv);
    expect(shellWords(`python "a b.py" c\\ d 'e'"f"`)).toEqual(["python", "a b.py", "c d", "ef"]);
  });

  test("slices keep to the item limit and the byte budget; an oversized item goes alone", () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ i, pad: "x".repeat(i === 7 ? 500 : 10) }));
    const parts = slices(items, 10, 200);
    expect(parts.flat()).toEqual(items);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(10);
      if (p.length > 1) expect(p.reduce((n, x) => n + JSON.stringify(x).length + 1, 0)).toBeLessThanOrEqual(200);
    }
    expect(parts.some((p) => p.length === 1 && p[0]?.i === 7)).toBe(true);
    expect(slices(items, 10, 1 << 20).map((p) => p.length)).toEqual([10, 10, 5]);
  });
});

describe("registry client errors", () => {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/fastapi") return Response.json({ detail: "Not authenticated" }, { status: 401 });
      if (path === "/html") return new Response("<html><body>Bad gateway</body></html>", { status: 502 });
      if (path === "/proxy") return new Response("<html>Forbidden</html>", { status: 403 });
      if (path === "/empty") return new Response("", { status: 200 });
      if (path === "/plain") return Response.json({ hash: "abc" });
      return Response.json({ success: true, data: { ok: 1 } });
    },
  });
  afterAll(() => server.stop(true));
  const client = new RegistryClient({ baseUrl: `http://127.0.0.1:${server.port}/`, key: null });
  const failure = (path: string) =>
    client.request("GET", path).then(
      () => null,
      (e: RegistryRequestError) => e,
    );

  test("the envelope is unwrapped; bodies without it are passed as they are; an empty body is {}", async () => {
    expect(await client.request("GET", "/wrapped")).toEqual({ ok: 1 });
    expect(await client.request("GET", "/plain")).toEqual({ hash: "abc" });
    expect(await client.request("GET", "/empty")).toEqual({});
  });

  test("errors read like the original client's: HTTP <code>: <detail>; HTML said so", async () => {
    expect((await failure("/fastapi"))?.message).toBe("HTTP 401: Not authenticated");
    expect((await failure("/html"))?.message).toContain(
      "Server returned HTML instead of JSON: '<html><body>Bad gateway",
    );
    expect((await failure("/proxy"))?.message).toContain("proxy or firewall");
    const down = new RegistryClient({ baseUrl: "http://127.0.0.1:1", key: null });
    const e = (await down.request("GET", "/x").catch((x: unknown) => x)) as RegistryRequestError;
    expect(e.status).toBe(0);
    expect(e.message).toContain("cannot reach the registry at http://127.0.0.1:1");
  });
});
