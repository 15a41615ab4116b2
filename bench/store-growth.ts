/**
 * How recording a file-heavy job grows with the store (not a test): the io job of issue 18 (20,000 reads, 2,000
 * writes) is run N times in one project on tmpfs, each run writing new output content (its round in every file),
 * and the time its rows take to write (`record: insert` of ROAR_TIMING) is printed at a few store sizes. The inputs
 * are the same every run: one shared input set (migration 8 → 9). Then the grown project is copied twice and the
 * job is run alternately in both, new outputs each time: one copy as this roar made it, the other with its
 * output-digest index put back as schema 6 had it (all 64 hex digits, not the 16-digit prefix of migration 7) —
 * the reference, measured in the same rounds; and in the first copy a re-run that reproduces its outputs (one
 * shared output set, migration 9 → 10: no new rows at all).
 *
 *   bun bench/store-growth.ts [--jobs 100] [--runs 8]
 *
 * Results on the 2-core development machine, defaults:
 * - 2026-12-06 (session 10, every job's rows its own): 63 ms a job over the first 10 jobs, 87 ms over jobs 91–100
 *   (a 286 MB store); at 100 jobs 80 ms with the prefix index against 107 ms with the full one (0.74×).
 * - 2026-12-07 (session 13, shared sets): see the README's benchmark section.
 */

import { Database } from "bun:sqlite";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { IO_JOB_SCRIPT, makeTree, median, numberOption } from "./common.ts";

const JOBS = numberOption("--jobs", 100);
const RUNS = numberOption("--runs", 8);
const ROAR = resolve(import.meta.dir, "../bin/roar");
const BASE = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const scratch = mkdtempSync(join(BASE, "roar-bench-growth-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
const python = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]).stdout.toString().trim();

function sh(argv: string[], cwd: string): void {
  const r = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

/** The io job, its outputs holding $ROUND (new content each round, or the same when it is). */
const JOB_SCRIPT = IO_JOB_SCRIPT.replace(
  "'result %d\\n' % i",
  "'result %d of round %s\\n' % (i, os.environ.get('ROUND', ''))",
);
if (JOB_SCRIPT === IO_JOB_SCRIPT) throw new Error("bench/common.ts's io job changed: update JOB_SCRIPT");
let round = 0;

/** One run of the io job (new output content unless `round` is given): wall ms and the `record: insert` phase. */
function runJob(project: string, fixedRound?: string): { wall: number; insert: number } {
  rmSync(join(project, "out"), { recursive: true, force: true });
  const start = performance.now();
  const r = Bun.spawnSync([ROAR, "run", "-q", python, "work.py"], {
    cwd: project,
    env: { ...process.env, ROAR_TIMING: "1", ROUND: fixedRound ?? String(++round) },
    stdout: "ignore",
    stderr: "pipe",
  });
  const wall = performance.now() - start;
  if (r.exitCode !== 0) throw new Error(`roar run exited ${r.exitCode}: ${r.stderr}`);
  const m = /record: insert\s+\+([0-9.]+) ms/.exec(r.stderr.toString());
  return { wall, insert: Number(m?.[1] ?? Number.NaN) };
}

const project = join(scratch, "grown");
makeTree(join(project, "in"), 20_000, 500, (i) => `input ${i}\n`);
writeFileSync(join(project, "work.py"), JOB_SCRIPT);
writeFileSync(join(project, ".gitignore"), "in/\nout/\n");
sh(["git", "init", "-q"], project);
sh(["git", "add", "work.py", ".gitignore"], project);
sh(["git", "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "job"], project);
sh([ROAR, "init"], project);

console.log(`growing a store with ${JOBS} runs of the io job (20k reads + 2k writes of new content):`);
const window: number[] = [];
for (let job = 1; job <= JOBS; job++) {
  window.push(runJob(project).insert);
  if (job % 10 === 0 || job === JOBS) {
    const mb = Bun.file(join(project, ".roar/roar.db")).size / 1e6;
    console.log(
      `  jobs ${job - window.length + 1}–${job}: rows written in ${median(window).toFixed(0)} ms (median; store ${mb.toFixed(0)} MB)`,
    );
    window.length = 0;
  }
}

// The same store twice: as it is, and with schema 6's full-digest index of outputs.
const prefix = join(scratch, "prefix");
const full = join(scratch, "full");
cpSync(project, prefix, { recursive: true });
cpSync(project, full, { recursive: true });
const db = new Database(join(full, ".roar/roar.db"));
db.exec(`DROP INDEX output_set_rows_digest;
  CREATE INDEX output_set_rows_blake3 ON output_set_rows(blake3);`);
db.close();
type Sample = { wall: number; insert: number };
const samples = { prefix: [] as Sample[], full: [] as Sample[], same: [] as Sample[] };
runJob(prefix, "same"); // the outputs a re-run then reproduces
for (let i = 0; i < RUNS; i++) {
  for (const which of i % 2 ? (["full", "prefix", "same"] as const) : (["same", "prefix", "full"] as const))
    samples[which].push(which === "same" ? runJob(prefix, "same") : runJob(which === "prefix" ? prefix : full));
}
const med = (which: keyof typeof samples, key: "wall" | "insert") => median(samples[which].map((s) => s[key]));
console.log(`\nat ${JOBS} jobs, ${RUNS} alternate runs each (medians):`);
console.log(
  `  output digests indexed by a 16-hex prefix (migration 7): rows ${med("prefix", "insert").toFixed(0)} ms, roar run ${med("prefix", "wall").toFixed(0)} ms`,
);
console.log(
  `  by the whole digest (reference: schema 6):              rows ${med("full", "insert").toFixed(0)} ms, roar run ${med("full", "wall").toFixed(0)} ms`,
);
console.log(`  rows: ${(med("prefix", "insert") / med("full", "insert")).toFixed(2)}× the reference`);
console.log(
  `  a re-run reproducing its outputs (shared input and output sets): rows ${med("same", "insert").toFixed(0)} ms, roar run ${med("same", "wall").toFixed(0)} ms`,
);
