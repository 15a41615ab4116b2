/**
 * Fixed overhead of `roar run true` over a bare `true` (issue target: ≤ 50 ms, median of 20), per backend, and
 * `roar --version` (start-up alone), for the source launcher, the compiled binary (dist/roar) and the compiled
 * binary behind the npm package's launcher (npm/launcher.sh in a node_modules layout, as npx/bunx run it).
 * Not a test: prints the figures beside a bare `true`. Run: bun bench/run-overhead.ts
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backends } from "../src/trace/backends.ts";
import { median, time } from "./common.ts";

const SOURCE = resolve(import.meta.dir, "../bin/roar");
const COMPILED = resolve(import.meta.dir, "../dist/roar");
const RUNS = 20;

const repo = mkdtempSync(join(tmpdir(), "roar-bench-run-"));
const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: repo });
git("init", "-q", "-b", "main");
writeFileSync(join(repo, ".gitignore"), ".roar/\n");
git("add", "-A");
git("-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "init");
Bun.spawnSync([SOURCE, "init", "-y"], { cwd: repo });

const bare = median(Array.from({ length: RUNS }, () => time(["true"], repo)));
console.log(`bare true:            ${bare.toFixed(1)} ms (median of ${RUNS})`);
const launchers: [string, string][] = [["source (bin/roar)", SOURCE]];
if (existsSync(COMPILED)) {
  launchers.push(["compiled (dist/roar)", COMPILED]);
  launchers.push(["npm launcher (node_modules/.bin/roar → @roar-cli/<platform>)", npmLayout()]);
} else console.log("dist/roar not built (bun build.ts --compile): measuring the source launcher only");

/** node_modules/.bin/roar → roar/bin/roar (the launcher) → @roar-cli/<platform>/bin/roar (dist/roar). */
function npmLayout(): string {
  const modules = join(mkdtempSync(join(tmpdir(), "roar-bench-npm-")), "node_modules");
  const platform = `linux-${process.arch}`;
  for (const dir of [".bin", "roar/bin", `@roar-cli/${platform}/bin`])
    mkdirSync(join(modules, dir), { recursive: true });
  symlinkSync(resolve(import.meta.dir, "../npm/launcher.sh"), join(modules, "roar/bin/roar"));
  symlinkSync(COMPILED, join(modules, `@roar-cli/${platform}/bin/roar`));
  symlinkSync("../roar/bin/roar", join(modules, ".bin/roar"));
  return join(modules, ".bin/roar");
}
for (const [label, roar] of launchers) {
  const version = median(Array.from({ length: RUNS }, () => time([roar, "--version"], repo)));
  console.log(`\n${label}: roar --version ${version.toFixed(1)} ms (CLI start-up alone)`);
  for (const backend of Object.values(backends)) {
    if (!backend.probe().usable) {
      console.log(`  roar run (${backend.name}): not usable here`);
      continue;
    }
    time([roar, "run", "-q", "--tracer", backend.name, "true"], repo); // warm caches (dpkg owners, git)
    const run = median(
      Array.from({ length: RUNS }, () => time([roar, "run", "-q", "--tracer", backend.name, "true"], repo)),
    );
    const overhead = run - bare;
    console.log(
      `  roar run ${backend.name.padEnd(8)} true: ${run.toFixed(1)} ms → overhead ${overhead.toFixed(1)} ms (target ≤ 50 ms: ${(overhead / 50).toFixed(2)}× of target)`,
    );
  }
}
