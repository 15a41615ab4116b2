/**
 * The registry's REST API against both storage backends: a SQLite file and a real PostgreSQL cluster (started
 * once for this file). Every request goes over HTTP to the real `glaas-server`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../helpers/cli.ts";
import { api, digest, type Registry, startRegistry } from "../helpers/glaas.ts";
import { type PgCluster, startPostgres } from "../helpers/postgres.ts";
import { A, COMMIT, JOBS, REPO, registerPipeline, SESSION, SIZES } from "./pipeline.ts";

const T = 120_000;
let pg: PgCluster;

beforeAll(async () => {
  pg = await startPostgres();
}, T);

afterAll(async () => {
  await pg?.stop();
});

type Backend = { name: string; url: () => Promise<string> };

const backends: Backend[] = [
  { name: "sqlite", url: async () => `sqlite:${join(tempDir("glaas-db-"), "registry.db")}` },
  { name: "postgres", url: async () => pg.createDatabase(`glaas_${Math.random().toString(36).slice(2, 10)}`) },
];

describe.each(backends)("registry API on $name", (backend) => {
  let reg: Registry;
  let dbUrl: string;
  const get = <T = unknown>(path: string) => api<T>(reg.url, "GET", path);
  const post = <T = unknown>(path: string, body: unknown) => api<T>(reg.url, "POST", path, { body });

  beforeAll(async () => {
    dbUrl = await backend.url();
    reg = await startRegistry({ GLAAS_DATABASE_URL: dbUrl });
  }, T);

  afterAll(async () => {
    await reg?.stop();
  });

  test("health answers in the envelope and names the database", async () => {
    const r = await get<{ status: string; database: string }>("/api/v1/health");
    expect(r.status).toBe(200);
    expect(r.body.success).toBe(true);
    expect(r.body.data.status).toBe("ok");
    expect(r.body.data.database).toBe(backend.name);
  });

  test(
    "the original client's four-phase registration, then again: idempotent",
    async () => {
      const first = await registerPipeline(reg.url);
      expect(first.session.created).toBe(true);
      expect(first.session.url).toBe(`${reg.url}/dag/${SESSION}`);
      expect(first.jobs.job_ids).toHaveLength(JOBS.length);
      expect(new Set(first.jobs.job_ids).size).toBe(JOBS.length);
      expect(first.jobs.errors).toEqual([]);
      expect(first.artifacts).toEqual({ created: 5, existing: 0 });
      expect(first.links).toContainEqual({ job_uid: "a0000002", outputs_linked: 2 });

      const again = await registerPipeline(reg.url);
      expect(again.session.created).toBe(false);
      expect(again.jobs.job_ids).toEqual(first.jobs.job_ids);
      expect(again.artifacts).toEqual({ created: 0, existing: 5 });

      const s = await get<{
        hash: string;
        git_repo: string;
        user: string;
        jobs: { job_uid: string; job_type: string; inputs: unknown[]; outputs: { hash: string; path: string }[] }[];
      }>(`/api/v1/sessions/${SESSION}`);
      expect(s.status).toBe(200);
      expect(s.body.data.git_repo).toBe(REPO);
      expect(s.body.data.user).toBe("anonymous");
      expect(s.body.data.jobs.map((j) => j.job_uid).sort()).toEqual(JOBS.map((j) => j.job_uid).sort());
      const train = s.body.data.jobs.find((j) => j.job_uid === "a0000002");
      expect(train?.job_type).toBe("run");
      expect(train?.outputs.map((o) => o.hash).sort()).toEqual([A.metrics, A.model].sort());
      expect(train?.inputs).toHaveLength(1);

      const list = await get<{ total: number; sessions: { hash: string }[] }>("/api/v1/sessions?limit=1");
      expect(list.status).toBe(200);
      expect(list.body.data.sessions).toHaveLength(1);
    },
    T,
  );

  test("artifact by prefix: producer, consumers; 400 short, 404 unknown, 409 ambiguous with candidates", async () => {
    const r = await get<{
      hash: string;
      size: number;
      produced_by: { job_uid: string; path: string }[];
      consumed_by: { job_uid: string }[];
    }>(`/api/v1/artifacts/${A.model.slice(0, 8).toUpperCase()}`);
    expect(r.status).toBe(200);
    expect(r.body.data.hash).toBe(A.model);
    expect(r.body.data.size).toBe(SIZES[A.model] as number);
    expect(r.body.data.produced_by.map((p) => [p.job_uid, p.path])).toEqual([["a0000002", "models/model.pt"]]);
    expect(r.body.data.consumed_by.map((p) => p.job_uid)).toEqual(["a0000003"]);

    expect((await get("/api/v1/artifacts/abc")).status).toBe(400);
    expect((await get("/api/v1/artifacts/not-hex-at-all")).status).toBe(400);
    const missing = await get("/api/v1/artifacts/00000000");
    expect(missing.status).toBe(404);
    expect(missing.body.success).toBe(false);
    expect(missing.body.detail).toContain("not found");

    const twins = [`deadbeef0${digest("x").slice(9)}`, `deadbeef1${digest("y").slice(9)}`];
    const made = await post("/api/v1/artifacts/batch", {
      artifacts: twins.map((d) => ({
        hashes: [{ algorithm: "blake3", digest: d }],
        size: 1,
        source_type: null,
        session_hash: SESSION,
      })),
    });
    expect(made.status).toBe(200);
    const amb = await get("/api/v1/artifacts/deadbeef");
    expect(amb.status).toBe(409);
    expect(amb.body.error?.candidates?.sort()).toEqual(twins.sort());
    expect((await get<{ hash: string }>("/api/v1/artifacts/deadbeef1")).body.data.hash).toBe(twins[1] as string);
  });

  test("lineage follows producers upstream to the asked depth", async () => {
    const one = await get<{ jobs: { job_uid: string; level: number }[]; artifacts: { hash: string }[] }>(
      `/api/v1/artifacts/${A.report.slice(0, 12)}/lineage`,
    );
    expect(one.status).toBe(200);
    expect(one.body.data.jobs.map((j) => j.job_uid)).toEqual(["a0000003"]);
    const all = await get<{
      jobs: { job_uid: string; level: number; inputs: { hash: string }[] }[];
      artifacts: { hash: string }[];
    }>(`/api/v1/artifacts/${A.report}/lineage?depth=10`);
    expect(all.body.data.jobs.map((j) => [j.job_uid, j.level]).sort()).toEqual([
      ["a0000001", 3],
      ["a0000002", 2],
      ["a0000003", 1],
    ]);
    expect(all.body.data.artifacts.map((a) => a.hash).sort()).toEqual([A.data, A.features, A.model, A.report].sort());
    const bad = await get(`/api/v1/artifacts/${A.report}/lineage?depth=11`);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe("depth");
  });

  test("dag: the jobs remote reproduce replays, build steps first, external inputs, git repo and commit", async () => {
    const r = await get<{
      is_external: boolean;
      jobs: { jobUid: string; jobType: string; command: string; metadata: string; gitCommit: string }[];
      external_deps: { hash: string; path: string }[];
      gitRepo: string;
      gitCommit: string;
      dag: { edges: { from: string; to: string }[] };
    }>(`/api/v1/artifacts/${A.report.slice(0, 10)}/dag`);
    expect(r.status).toBe(200);
    const d = r.body.data;
    expect(d.is_external).toBe(false);
    expect(d.jobs.map((j) => [j.jobUid, j.jobType])).toEqual([
      ["b0000001", "build"],
      ["a0000001", "run"],
      ["a0000002", "run"],
      ["a0000003", "run"],
    ]);
    expect(JSON.parse(d.jobs[2]?.metadata ?? "{}").packages.pip.torch).toBe("2.3.1");
    expect(d.external_deps.map((e) => [e.hash, e.path])).toEqual([[A.data, "data.csv"]]);
    expect(d.gitRepo).toBe(REPO);
    expect(d.gitCommit).toBe(COMMIT);
    expect(d.dag.edges).toContainEqual(expect.objectContaining({ from: "a0000002", to: "a0000003" }));
    const ext = await get<{ is_external: boolean; jobs: unknown[] }>(`/api/v1/artifacts/${A.data}/dag`);
    expect(ext.body.data.is_external).toBe(true);
    expect(ext.body.data.jobs).toEqual([]);
  });

  test("search: each filter alone and combined", async () => {
    const jobs = async (q: string) =>
      (await get<{ jobs: { job_uid: string }[] }>(`/api/v1/search?kind=jobs&${q}`)).body.data.jobs
        .map((j) => j.job_uid)
        .sort();
    const artifacts = async (q: string) =>
      (await get<{ artifacts: { hash: string }[] }>(`/api/v1/search?kind=artifacts&${q}`)).body.data.artifacts
        .map((a) => a.hash)
        .sort();
    expect(await jobs("command=TRAIN.PY")).toEqual(["a0000002"]);
    expect(await jobs("package=torch")).toEqual(["a0000002", "a0000003"]);
    expect(await jobs("gpu=a100")).toEqual(["a0000002"]);
    expect(await jobs("gpu=any")).toEqual(["a0000002"]);
    expect(await jobs("gpu=none")).toEqual(["a0000001", "a0000003", "b0000001"]);
    expect(await jobs("path=*.parquet")).toEqual(["a0000001", "a0000002"]);
    expect(await jobs("type=html")).toEqual(["a0000003"]);
    expect(await jobs("user=anonymous&since=1700000150&until=1700000250")).toEqual(["a0000002"]);
    expect(await jobs("since=2023-11-14T22:15:01Z&until=1700000250")).toEqual(["a0000002"]);
    expect(await jobs("package=torch&type=json")).toEqual(["a0000002"]);
    expect(await jobs("q=evaluate")).toEqual(["a0000003"]);
    expect(await jobs("user=nobody")).toEqual([]);
    expect(await artifacts("type=pt")).toEqual([A.model]);
    expect(await artifacts("path=models/*")).toEqual([A.model]);
    expect(await artifacts("command=train&type=json")).toEqual([A.metrics]);
    expect(await artifacts("package=pandas")).toEqual([A.data, A.features].sort());
    expect(await artifacts(`q=${A.report.slice(0, 10)}`)).toEqual([A.report]);
    const bad = await get("/api/v1/search?kind=jobs&since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe("since");
  });

  test("browsing pages and sorts", async () => {
    const bySize = await get<{ total: number; artifacts: { size: number }[] }>(
      "/api/v1/artifacts?sort=size&order=asc&limit=3",
    );
    expect(bySize.body.data.total).toBe(7);
    expect(bySize.body.data.artifacts.map((a) => a.size)).toEqual([1, 1, 120]);
    const page2 = await get<{ artifacts: { size: number }[] }>(
      "/api/v1/artifacts?sort=size&order=desc&limit=2&offset=2",
    );
    expect(page2.body.data.artifacts.map((a) => a.size)).toEqual([5_000, 1_000]);
    const jobs = await get<{ total: number; jobs: { job_uid: string }[] }>("/api/v1/jobs?sort=time&order=asc&limit=2");
    expect(jobs.body.data.total).toBe(4);
    expect(jobs.body.data.jobs.map((j) => j.job_uid)).toEqual(["b0000001", "a0000001"]);
    expect((await get("/api/v1/jobs?sort=bogus")).status).toBe(400);
    expect((await get("/api/v1/jobs?limit=0")).status).toBe(400);
  });

  test("bad payloads are 400 naming the field, never 500", async () => {
    const cases: [string, unknown, string][] = [
      ["/api/v1/sessions", { git_repo: "x" }, "hash"],
      ["/api/v1/sessions", { hash: "zz-not-hex" }, "hash"],
      [`/api/v1/sessions/${SESSION}/jobs`, { job_uid: "c1", command: 42 }, "command"],
      [
        `/api/v1/sessions/${SESSION}/jobs/batch`,
        { jobs: [{ job_uid: "c1", command: "ok" }, { job_uid: "c2" }] },
        "jobs[1].command",
      ],
      [
        `/api/v1/sessions/${SESSION}/jobs/batch`,
        { jobs: [{ job_uid: "c1", command: "x", exit_code: 1.5 }] },
        "jobs[0].exit_code",
      ],
      ["/api/v1/artifacts/batch", { artifacts: [{ hashes: [], size: 1 }] }, "artifacts[0].hashes"],
      [
        "/api/v1/artifacts/batch",
        { artifacts: [{ hashes: [{ algorithm: "blake3", digest: "ab" }], size: -1 }] },
        "artifacts[0].size",
      ],
      ["/api/v1/artifacts", { hashes: "abc" }, "hashes"],
      [`/api/v1/sessions/${SESSION}/jobs/a0000001/inputs`, { artifacts: [{ path: "x" }] }, "artifacts[0].hash"],
      ["/api/v1/keys", { user: "bob" }, "public_key"],
      ["/api/v1/keys", { user: "bob", public_key: "ssh-ed25519 AAAAnotakey" }, "public_key"],
      ["/api/v1/artifacts/batch", [1, 2, 3], ""],
    ];
    for (const [path, body, field] of cases) {
      const r = await post(path, body);
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      expect(r.body.success).toBe(false);
      expect(r.body.error?.field).toBe(field);
      if (field) expect(r.body.detail).toContain(field);
    }
    const notJson = await api(reg.url, "POST", "/api/v1/artifacts/batch", { rawBody: "{nope" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.detail).toContain("not valid JSON");
    expect((await post(`/api/v1/sessions/${digest("nope")}/jobs`, { job_uid: "x1", command: "c" })).status).toBe(404);
    expect((await post(`/api/v1/sessions/${SESSION}/jobs/nojob/outputs`, { artifacts: [] })).status).toBe(404);
    const wrongMethod = await api(reg.url, "PUT", "/api/v1/sessions");
    expect(wrongMethod.status).toBe(405);
    expect((await get("/api/v1/nothing-here")).status).toBe(404);
  });

  test(
    "deleting a session removes its jobs and links, keeps the artifacts",
    async () => {
      const other = digest("session:throwaway");
      await registerPipeline(reg.url, undefined, other);
      // Two jobs wrote the model now: lineage follows the most recent one (same timestamp: the later registration).
      const both = await get<{ jobs: { session_hash: string; job_uid: string }[] }>(
        `/api/v1/artifacts/${A.model}/lineage?depth=2`,
      );
      expect(both.body.data.jobs.map((j) => [j.session_hash, j.job_uid])).toEqual([
        [other, "a0000002"],
        [other, "a0000001"],
      ]);
      const del = await api(reg.url, "DELETE", `/api/v1/sessions/${other}`);
      expect(del.status).toBe(200);
      expect((await get(`/api/v1/sessions/${other}`)).status).toBe(404);
      const model = await get<{ produced_by: { session_hash: string }[] }>(`/api/v1/artifacts/${A.model}`);
      expect(model.status).toBe(200);
      expect(model.body.data.produced_by.map((p) => p.session_hash)).toEqual([SESSION]);
    },
    T,
  );

  test(
    "concurrent registrations of the same new artifacts and links all succeed, each artifact once",
    async () => {
      const hashes = Array.from({ length: 500 }, (_, i) => digest(`concurrent:${i}`));
      // Eight different orders of the same batch.
      const shuffled = (k: number) => [...hashes].sort((a, b) => (digest(`${k}${a}`) < digest(`${k}${b}`) ? -1 : 1));
      const batches = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          post<{ created: number; existing: number }>("/api/v1/artifacts/batch", {
            artifacts: shuffled(k).map((h) => ({ hashes: [{ algorithm: "blake3", digest: h }], size: 5 })),
          }),
        ),
      );
      expect(batches.map((b) => b.status)).toEqual(new Array(8).fill(200));
      expect(batches.reduce((n, b) => n + b.body.data.created, 0)).toBe(500);
      const links = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          post(`/api/v1/sessions/${SESSION}/jobs/a0000003/inputs`, {
            artifacts: shuffled(k + 8).map((h) => ({ hash: h, path: `shards/${h.slice(0, 6)}.bin` })),
          }),
        ),
      );
      expect(links.map((l) => l.status)).toEqual(new Array(8).fill(200));
      const job = await get<{ inputs: unknown[] }>(`/api/v1/sessions/${SESSION}/jobs/a0000003`);
      expect(job.body.data.inputs).toHaveLength(502);
    },
    T,
  );

  test(
    "a batch of 10,000 is accepted in one request; 10,001 is a 400 naming the field",
    async () => {
      const make = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          hashes: [{ algorithm: "blake3", digest: digest(`max:${i}`) }],
          size: i,
        }));
      const full = await post<{ created: number }>("/api/v1/artifacts/batch", { artifacts: make(10_000) });
      expect(full.status).toBe(200);
      expect(full.body.data.created).toBe(10_000);
      const over = await post("/api/v1/artifacts/batch", { artifacts: make(10_001) });
      expect(over.status).toBe(400);
      expect(over.body.error?.field).toBe("artifacts");
    },
    T,
  );

  test(
    "a restarted server finds its data and does not migrate twice",
    async () => {
      await reg.stop();
      reg = await startRegistry({ GLAAS_DATABASE_URL: dbUrl });
      const r = await get<{ hash: string }>(`/api/v1/artifacts/${A.model.slice(0, 8)}`);
      expect(r.body.data.hash).toBe(A.model);
    },
    T,
  );
});
