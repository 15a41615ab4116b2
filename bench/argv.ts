/**
 * A huge command line: `roar run true <N arguments>` vs the bare `true <N arguments>`, for 10k and 100k arguments,
 * per backend. roar's own cost must grow linearly (it was quadratic: 12k arguments took 27 s and 1.4 GB); the
 * target is well under a second of roar's time for 100k. Not a test: prints the figures, measured in the same run.
 * Run: bun bench/argv.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backends } from "../src/trace/backends.ts";
import { median, time } from "./common.ts";

const ROAR = resolve(import.meta.dir, "../bin/roar");
const SIZES = [10_000, 100_000];
const RUNS = 3;

const repo = mkdtempSync(join(tmpdir(), "roar-bench-argv-"));
try {
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: repo });
  git("init", "-q", "-b", "main");
  writeFileSync(join(repo, ".gitignore"), ".roar/\n");
  git("add", "-A");
  git("-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "init");
  Bun.spawnSync([ROAR, "init", "-y"], { cwd: repo });

  const usable = Object.values(backends).filter((b) => b.probe().usable);
  for (const backend of usable) time([ROAR, "run", "-q", "--tracer", backend.name, "true"], repo); // warm caches
  const empty = new Map(
    usable.map((b) => [
      b.name,
      median(Array.from({ length: RUNS }, () => time([ROAR, "run", "-q", "--tracer", b.name, "true"], repo))),
    ]),
  );

  for (const n of SIZES) {
    const args = Array.from({ length: n }, (_, i) => String(i));
    const bare = median(Array.from({ length: RUNS }, () => time(["true", ...args], repo)));
    console.log(`\n${n.toLocaleString("en")} arguments: bare true ${bare.toFixed(1)} ms (median of ${RUNS})`);
    for (const backend of usable) {
      const run = median(
        Array.from({ length: RUNS }, () => time([ROAR, "run", "-q", "--tracer", backend.name, "true", ...args], repo)),
      );
      const base = empty.get(backend.name) ?? 0;
      console.log(
        `  roar run ${backend.name.padEnd(8)} ${run.toFixed(1)} ms: ${(run / bare).toFixed(1)}× bare; ` +
          `${(run - bare).toFixed(1)} ms of roar's time, ${(run - base).toFixed(1)} ms more than with no arguments (${base.toFixed(1)} ms)`,
      );
    }
  }
  const skipped = Object.values(backends).filter((b) => !usable.includes(b));
  for (const b of skipped) console.log(`roar run (${b.name}): not usable here`);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
