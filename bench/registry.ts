/**
 * Benchmark (not a test): the GLaaS registry (`glaas-server`, a child process) on SQLite and on a private
 * PostgreSQL cluster (durable defaults), side by side, at 10k and 100k artifacts. Load comes from this process
 * over loopback, with bounded loops and 4 requests in flight.
 *
 * Data: sessions of 20-job chains (each job reads the previous job's main output plus one external file and
 * writes 10 artifacts), so lineage depth 10 has 10 levels to walk. Reported:
 *   - ingest: artifacts/s through POST /artifacts/batch (1,000 per request), jobs/s through /jobs/batch, links/s
 *     through the per-job /inputs and /outputs calls, and the whole registration as artifacts/s;
 *   - p50/p99 latency of GET /artifacts/{12-hex prefix}, /artifacts/{prefix}/lineage?depth=10 and /search,
 *     sequential requests, the quietest of --rounds rounds (3) reported: other load on the machine shows in p99.
 * Before the lookups the database is ANALYZEd (what autovacuum would have done by then).
 * Targets: ≥ 5,000 artifacts/s ingest on SQLite; p99 lookup ≤ 10 ms at 100k.
 *
 *   bun bench/registry.ts [--scales 10000,100000] [--backends sqlite,postgres] [--rounds 3]
 */
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { SQL } from "bun";
import { tempDir } from "../test/helpers/cli.ts";
import { startRegistry } from "../test/helpers/glaas.ts";
import { startPostgres } from "../test/helpers/postgres.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const SCALES = opt("--scales", "10000,100000").split(",").map(Number);
const BACKENDS = opt("--backends", "sqlite,postgres").split(",");
const CHAIN = 20;
const OUTPUTS_PER_JOB = 10;
const IN_FLIGHT = 4;
const LOOKUPS = 1000;
const LINEAGES = 300;
const SEARCHES = 200;
/** Latencies are measured this many times; the quietest round is reported (the machine may be shared). */
const ROUNDS = Number(opt("--rounds", "3"));

const hex = (label: string) => createHash("sha256").update(label).digest("hex");

async function post(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Runs tasks with at most IN_FLIGHT at a time. */
async function pool<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

interface Job {
  uid: string;
  inputs: { hash: string; path: string }[];
  outputs: { hash: string; path: string }[];
}

function generate(artifacts: number) {
  const jobsTotal = Math.ceil(artifacts / OUTPUTS_PER_JOB);
  const sessions: { hash: string; jobs: Job[] }[] = [];
  const allArtifacts: string[] = [];
  for (let j = 0; j < jobsTotal; j++) {
    if (j % CHAIN === 0) sessions.push({ hash: hex(`s${j}`), jobs: [] });
    const session = sessions.at(-1) as { hash: string; jobs: Job[] };
    const previous = session.jobs.at(-1);
    const outputs = Array.from({ length: OUTPUTS_PER_JOB }, (_, k) => ({
      hash: hex(`a${j}:${k}`),
      path: k === 0 ? `stage${session.jobs.length}/main.pt` : `stage${session.jobs.length}/part-${k}.csv`,
    }));
    allArtifacts.push(...outputs.map((o) => o.hash));
    const inputs = previous ? [previous.outputs[0] as { hash: string; path: string }] : [];
    session.jobs.push({ uid: hex(`j${j}`).slice(0, 16), inputs, outputs });
  }
  return { sessions, allArtifacts, jobsTotal };
}

async function analyze(dbUrl: string): Promise<void> {
  if (dbUrl.startsWith("postgres")) {
    const sql = new SQL(dbUrl);
    await sql.unsafe("ANALYZE");
    await sql.close();
  } else {
    const db = new Database(dbUrl.replace(/^sqlite:/, ""));
    db.exec("ANALYZE");
    db.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** p50/p99 of the round with the lowest p99. */
async function latencies(urls: string[]): Promise<{ p50: number; p99: number }> {
  let best = { p50: Number.POSITIVE_INFINITY, p99: Number.POSITIVE_INFINITY };
  for (let round = 0; round < ROUNDS; round++) {
    const r = await oneRound(urls);
    if (r.p99 < best.p99) best = r;
  }
  return best;
}

async function oneRound(urls: string[]): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (const url of urls) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

interface Result {
  backend: string;
  scale: number;
  artifactsPerSec: number;
  jobsPerSec: number;
  linksPerSec: number;
  registrationPerSec: number;
  prefix: { p50: number; p99: number };
  lineage: { p50: number; p99: number };
  search: { p50: number; p99: number };
}

async function measure(backend: string, scale: number, dbUrl: string): Promise<Result> {
  const reg = await startRegistry({ GLAAS_DATABASE_URL: dbUrl, GLAAS_RATE_LIMIT: "0" });
  try {
    const { sessions, allArtifacts, jobsTotal } = generate(scale);
    const t0 = performance.now();
    // 1. Artifacts through the batch API.
    const batches: string[][] = [];
    for (let i = 0; i < allArtifacts.length; i += 1000) batches.push(allArtifacts.slice(i, i + 1000));
    await pool(batches, (b) =>
      post(reg.url, "/api/v1/artifacts/batch", {
        artifacts: b.map((h) => ({ hashes: [{ algorithm: "blake3", digest: h }], size: 1024 })),
      }),
    );
    const tArtifacts = performance.now();
    // 2. Sessions and jobs (one batch per session).
    await pool(sessions, async (s) => {
      await post(reg.url, "/api/v1/sessions", {
        hash: s.hash,
        git_repo: "https://example.com/p.git",
        git_commit: "c0ffee",
        git_branch: "main",
      });
      await post(reg.url, `/api/v1/sessions/${s.hash}/jobs/batch`, {
        jobs: s.jobs.map((j, i) => ({
          job_uid: j.uid,
          command: `python stage${i}.py --shard ${j.uid.slice(0, 6)}`,
          timestamp: 1_700_000_000 + i,
          step_number: i + 1,
          metadata: JSON.stringify({
            packages: { pip: { torch: "2.3.1", numpy: "1.26" } },
            runtime: { gpu: i % 2 ? [{ name: "NVIDIA A100" }] : [] },
          }),
        })),
      });
    });
    const tJobs = performance.now();
    // 3. Links, as the original client sends them: inputs and outputs per job.
    const links = sessions.flatMap((s) =>
      s.jobs.flatMap((j) => [
        ...(j.inputs.length > 0
          ? [{ path: `/api/v1/sessions/${s.hash}/jobs/${j.uid}/inputs`, artifacts: j.inputs }]
          : []),
        { path: `/api/v1/sessions/${s.hash}/jobs/${j.uid}/outputs`, artifacts: j.outputs },
      ]),
    );
    await pool(links, (l) => post(reg.url, l.path, { artifacts: l.artifacts }));
    const tLinks = performance.now();
    const linkCount = links.reduce((n, l) => n + l.artifacts.length, 0);
    // Planner statistics as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would have them by now.
    await analyze(dbUrl);

    // Lookups: random prefixes, deep chain tails, a few searches.
    let seed = 12345;
    const pick = <T>(list: T[]) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return list[seed % list.length] as T;
    };
    const prefixUrls = Array.from(
      { length: LOOKUPS },
      () => `${reg.url}/api/v1/artifacts/${pick(allArtifacts).slice(0, 12)}`,
    );
    const tails = sessions
      .filter((s) => s.jobs.length === CHAIN)
      .map((s) => (s.jobs.at(-1) as Job).outputs[0]?.hash as string);
    const lineageUrls = Array.from(
      { length: LINEAGES },
      () => `${reg.url}/api/v1/artifacts/${pick(tails)}/lineage?depth=10`,
    );
    const searches = [
      "kind=jobs&command=stage7&limit=20",
      "kind=artifacts&type=pt&limit=20",
      "kind=jobs&package=torch&gpu=a100&limit=20",
      "kind=artifacts&path=stage3/*&limit=20",
    ];
    const searchUrls = Array.from(
      { length: SEARCHES },
      (_, i) => `${reg.url}/api/v1/search?${searches[i % searches.length]}`,
    );
    await oneRound(prefixUrls.slice(0, 50)); // warm-up
    const prefix = await latencies(prefixUrls);
    const lineage = await latencies(lineageUrls);
    const search = await latencies(searchUrls);
    return {
      backend,
      scale,
      artifactsPerSec: allArtifacts.length / ((tArtifacts - t0) / 1000),
      jobsPerSec: jobsTotal / ((tJobs - tArtifacts) / 1000),
      linksPerSec: linkCount / ((tLinks - tJobs) / 1000),
      registrationPerSec: allArtifacts.length / ((tLinks - t0) / 1000),
      prefix,
      lineage,
      search,
    };
  } finally {
    await reg.stop();
  }
}

const results: Result[] = [];
const pg = BACKENDS.includes("postgres") ? await startPostgres({ durable: true }) : null;
try {
  for (const scale of SCALES) {
    for (const backend of BACKENDS) {
      const dbUrl =
        backend === "postgres"
          ? await (pg as NonNullable<typeof pg>).createDatabase(`bench_${scale}`)
          : `sqlite:${join(tempDir("glaas-bench-"), "registry.db")}`;
      console.error(`registry bench: ${backend}, ${scale} artifacts…`);
      results.push(await measure(backend, scale, dbUrl));
    }
  }
} finally {
  await pg?.stop();
}

const ms = (x: number) => `${x.toFixed(2)} ms`;
const rate = (x: number) => `${Math.round(x).toLocaleString("en-US")}/s`;
console.log("\nGLaaS registry (glaas-server over loopback, 4 requests in flight)\n");
console.log(
  [
    "backend",
    "artifacts",
    "artifact batch",
    "job batch",
    "links",
    "full registration",
    "prefix p50/p99",
    "lineage d10 p50/p99",
    "search p50/p99",
  ]
    .map((h) => h.padEnd(21))
    .join(""),
);
for (const r of results) {
  console.log(
    [
      r.backend,
      r.scale.toLocaleString("en-US"),
      rate(r.artifactsPerSec),
      rate(r.jobsPerSec),
      rate(r.linksPerSec),
      rate(r.registrationPerSec),
      `${ms(r.prefix.p50)} / ${ms(r.prefix.p99)}`,
      `${ms(r.lineage.p50)} / ${ms(r.lineage.p99)}`,
      `${ms(r.search.p50)} / ${ms(r.search.p99)}`,
    ]
      .map((c) => c.padEnd(21))
      .join(""),
  );
}
const sqlite = results.filter((r) => r.backend === "sqlite");
const big = results.filter((r) => r.scale >= 100_000);
if (sqlite.length > 0) {
  const worst = Math.min(...sqlite.map((r) => r.artifactsPerSec));
  console.log(
    `\ntarget ingest ≥ 5,000 artifacts/s on SQLite: ${rate(worst)} (${(worst / 5000).toFixed(1)}× the target)`,
  );
}
if (big.length > 0) {
  const worst = Math.max(...big.map((r) => Math.max(r.prefix.p99, r.lineage.p99)));
  console.log(
    `target p99 lookup ≤ 10 ms at 100k (prefix and lineage, worst backend): ${ms(worst)} (${(10 / worst).toFixed(1)}× headroom)`,
  );
}
