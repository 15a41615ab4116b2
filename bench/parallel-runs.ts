/**
 * 8 parallel `roar run`s in one project, each writing 300 files (the safety issue's scenario), against the same
 * 8 commands run bare in parallel, measured in the same run, as a ratio; also checks that every run got a
 * step of its own. Not a test. Run: bun bench/parallel-runs.ts [--rounds N]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median, numberOption } from "./common.ts";

const ROAR = resolve(import.meta.dir, "../bin/roar");
const RUNS = 8;
const FILES = 300;
const rounds = numberOption("--rounds", 3);

const WRITE_PY = `import os, sys
d, count = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(count):
    with open(os.path.join(d, f"f{i:04d}.txt"), "w") as f:
        f.write(f"{d} {i}\\n")
`;

async function parallel(argvs: string[][], cwd: string): Promise<number> {
  const start = performance.now();
  const procs = argvs.map((argv) => Bun.spawn(argv, { cwd, stdout: "ignore", stderr: "pipe" }));
  const codes = await Promise.all(procs.map((p) => p.exited));
  const ms = performance.now() - start;
  for (const [i, code] of codes.entries()) {
    if (code !== 0)
      throw new Error(`${argvs[i]?.join(" ")} exited ${code}: ${await new Response(procs[i]?.stderr).text()}`);
  }
  return ms;
}

const repo = mkdtempSync(join(tmpdir(), "roar-bench-parallel-"));
const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: repo });
git("init", "-q", "-b", "main");
writeFileSync(join(repo, ".gitignore"), ".roar/\nbare*/\n");
writeFileSync(join(repo, "write.py"), WRITE_PY);
git("add", "-A");
git("-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "init");
Bun.spawnSync([ROAR, "init", "-n"], { cwd: repo });

const bare: number[] = [];
const traced: number[] = [];
for (let round = 0; round < rounds; round++) {
  bare.push(
    await parallel(
      Array.from({ length: RUNS }, (_, i) => ["python3", "write.py", `bare${round}_${i}`, String(FILES)]),
      repo,
    ),
  );
  traced.push(
    await parallel(
      Array.from({ length: RUNS }, (_, i) => [
        ROAR,
        "run",
        "-q",
        "python3",
        "write.py",
        `r${round}_${i}`,
        String(FILES),
      ]),
      repo,
    ),
  );
}
const dag = JSON.parse(Bun.spawnSync([ROAR, "dag", "--json"], { cwd: repo }).stdout.toString()) as {
  totalSteps: number;
};
const b = median(bare);
const t = median(traced);
console.log(`8 parallel runs × ${FILES} files written, median of ${rounds} rounds`);
console.log(`  bare (8 python3 processes in parallel): ${b.toFixed(0)} ms`);
console.log(`  roar run (8 in parallel, one project): ${t.toFixed(0)} ms → ${(t / b).toFixed(2)}× bare`);
console.log(
  `  steps recorded: ${dag.totalSteps} of ${RUNS * rounds} expected ${dag.totalSteps === RUNS * rounds ? "✓" : "✗"}`,
);
rmSync(repo, { recursive: true, force: true });
