/**
 * Benchmark (not a test): a generated session of 5,000 jobs and 50,000 artifacts, inserted through RoarStore in
 * one transaction into a temp project, then the real CLI is spawned for `roar dag --json`, `roar status` and
 * `roar show @4000`. Target: each ≤ 300 ms wall. Prints the figures and the ratio to the target.
 *
 *   bun bench/dag.ts [--jobs 5000] [--artifacts 50000] [--runs 5]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stepIdentity } from "../src/core/step.ts";
import type { IoRecord } from "../src/core/types.ts";
import { projectAt } from "../src/store/project.ts";
import { RoarStore } from "../src/store/store.ts";
import { numberOption } from "./common.ts";

const TARGET_MS = 300;
const JOBS = numberOption("--jobs", 5000);
const ARTIFACTS = numberOption("--artifacts", 50_000);
const RUNS = numberOption("--runs", 5);
/** One job in ten re-runs an earlier step (superseding it), so steps < jobs. */
const RERUN_EVERY = 10;

/** The CLI to spawn: bin/roar, or $ROAR_BENCH_CMD (space-separated argv prefix, e.g. a compiled dist/roar). */
const ROAR_CMD = process.env.ROAR_BENCH_CMD?.split(" ").filter(Boolean) ?? [resolve(import.meta.dir, "../bin/roar")];

// Deterministic pseudo-random numbers (xorshift32), so every run benchmarks the same graph.
let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x1_0000_0000;
}
function hex64(): string {
  let s = "";
  for (let i = 0; i < 8; i++)
    s += Math.floor(rand() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, "0");
  return s;
}

function generate(root: string): { steps: number; ioRows: number; insertMs: number } {
  const project = projectAt(root);
  mkdirSync(project.roarDir, { recursive: true });
  writeFileSync(project.configPath, "");
  const store = RoarStore.open(project, { create: true });
  const session = store.ensureActiveSession();
  const outputsPerJob = Math.max(1, Math.floor(ARTIFACTS / JOBS));
  /** Outputs of every recorded job, to pick inputs from. */
  const produced: IoRecord[][] = [];
  const stepArgv: string[][] = [];
  let ioRows = 0;
  const t0 = performance.now();
  store.batch(() => {
    for (let j = 0; j < JOBS; j++) {
      const rerun = j > 0 && j % RERUN_EVERY === 0;
      let argv: string[];
      let step: number;
      if (rerun) {
        step = 1 + Math.floor(rand() * stepArgv.length);
        argv = [...(stepArgv[step - 1] as string[]), "--seed", String(j)];
      } else {
        step = stepArgv.length + 1;
        argv = ["python", `stage_${step}.py`, `data/in_${step}.csv`, `out/step_${step}`, "--lr", "0.01"];
        stepArgv.push(argv);
      }
      const inputs: IoRecord[] = [{ path: `data/in_${step}.csv`, blake3: hex64(), size: 1000, flags: 0 }];
      // Two inputs from recent jobs' outputs (a chain with some fan-in), one from anywhere earlier.
      if (produced.length > 0) {
        for (const back of [1, 1 + Math.floor(rand() * 5), 1 + Math.floor(rand() * produced.length)]) {
          const src = produced[Math.max(0, produced.length - back)] as IoRecord[];
          const pick = src[Math.floor(rand() * src.length)] as IoRecord;
          if (!inputs.some((i) => i.path === pick.path)) inputs.push({ ...pick });
        }
      }
      const outputs: IoRecord[] = [];
      for (let k = 0; k < outputsPerJob; k++) {
        outputs.push({ path: `out/step_${step}/part_${k}.bin`, blake3: hex64(), size: 4096 + k, flags: 0 });
      }
      produced.push(outputs);
      ioRows += inputs.length + outputs.length;
      store.insertJob({
        sessionId: session.id,
        step,
        stepIdentity: stepIdentity("run", argv),
        kind: "run",
        name: null,
        argv,
        cwd: "",
        startedAt: Date.UTC(2025, 0, 1) + j * 1000,
        durationMs: 500 + (j % 997),
        traceMs: 400,
        postMs: 100,
        exitCode: 0,
        signal: null,
        status: "ok",
        git: { commit: "0".repeat(40), branch: "main", remoteUrl: null, clean: true },
        trace: { backend: "ptrace", complete: true, reasons: [] },
        metadata: {
          packages: { pip: { numpy: "2.1.0", torch: "2.5.0", pandas: "2.2.3" }, dpkg: { libc6: "2.36" } },
          runtime: { os: "linux", python: "3.12.7", cpus: 16 },
          env: { SEED: "42" },
        },
        inputs,
        outputs,
      });
    }
  });
  const insertMs = performance.now() - t0;
  store.close();
  return { steps: stepArgv.length, ioRows, insertMs };
}

async function timeCli(cwd: string, argv: string[]): Promise<{ ms: number; code: number; bytes: number; err: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([...ROAR_CMD, ...argv], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { ms: performance.now() - t0, code, bytes: out.byteLength, err };
}

const root = mkdtempSync(join(tmpdir(), "roar-bench-dag-"));
try {
  const g = generate(root);
  console.log(
    `generated: ${JOBS} jobs, ${g.steps} steps, ${g.ioRows} io rows, ~${ARTIFACTS} artifacts ` +
      `(insert ${g.insertMs.toFixed(0)} ms, one transaction)`,
  );
  const cases: [string, string[]][] = [
    ["roar dag --json", ["dag", "--json"]],
    ["roar status", ["status"]],
    ["roar show @4000", ["show", "@4000"]],
  ];
  // Baseline: the CLI's own start-up cost.
  const version: number[] = [];
  for (let i = 0; i < RUNS; i++) version.push((await timeCli(root, ["--version"])).ms);
  let failed = false;
  const rows: string[] = [];
  for (const [label, argv] of cases) {
    await timeCli(root, argv); // warm the page cache
    const times: number[] = [];
    let last = { ms: 0, code: 0, bytes: 0, err: "" };
    for (let i = 0; i < RUNS; i++) {
      last = await timeCli(root, argv);
      times.push(last.ms);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    const ok = last.code === 0 && median <= TARGET_MS;
    if (!ok) failed = true;
    rows.push(
      `${label.padEnd(18)} median ${median.toFixed(0).padStart(4)} ms  (min ${(times[0] as number).toFixed(0)}, max ${(times.at(-1) as number).toFixed(0)})` +
        `  ${(median / TARGET_MS).toFixed(2)}× of ${TARGET_MS} ms  exit ${last.code}  ${last.bytes} bytes${ok ? "" : "  ✗"}` +
        (last.code !== 0 ? `\n    ${last.err.trim().split("\n")[0]}` : ""),
    );
  }
  version.sort((a, b) => a - b);
  console.log(`startup (roar --version) median ${(version[Math.floor(version.length / 2)] as number).toFixed(0)} ms`);
  for (const r of rows) console.log(r);
  console.log(failed ? "RESULT: some target missed" : "RESULT: all within target");
  process.exitCode = failed ? 1 : 0;
} finally {
  if (!process.env.ROAR_KEEP_TMP) rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
}
