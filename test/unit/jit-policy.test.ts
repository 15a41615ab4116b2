/**
 * roar's start-up JIT policy (src/shared/jit-options.ts): the commands that trace start with JavaScriptCore's
 * tier-up thresholds scaled up, and go back to the normal policy once their job has started. Seen through the
 * engine itself: how often it has optimized a function run a few thousand times (bun:jsc numberOfDFGCompiles), in
 * a fresh Bun process with JavaScriptCore's default options.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { STARTUP_JIT_SCALE, startupJitScale } from "../../src/shared/jit-options.ts";
import { BUN, REPO_ROOT, tempDir } from "../helpers/cli.ts";

test("the commands that trace start with the scaled policy, the others with the normal one", () => {
  for (const args of [["run", "python3", "x.py"], ["--no-color", "build", "make"], ["run"]])
    expect(startupJitScale(args)).toBe(STARTUP_JIT_SCALE);
  for (const args of [["dag", "--json"], ["status"], ["--no-color", "show", "run"], ["--version"], []])
    expect(startupJitScale(args)).toBeNull();
  expect(STARTUP_JIT_SCALE).toBeGreaterThan(1);
});

/**
 * In a child Bun: the start-up policy for `args`, then 40 functions run 1,200 times each (JavaScriptCore's
 * default optimizes such a function after ~800 calls, under roar's start-up policy after ~2,000), counting how many
 * were optimized; then the normal policy and 40 others.
 */
function optimizedCounts(args: string[]): { atStart: number; afterJobStart: number } {
  const script = join(tempDir("roar-jit-policy-"), "policy.ts");
  writeFileSync(
    script,
    `import { numberOfDFGCompiles } from "bun:jsc";
import { normalJitPolicy, startupJitPolicy } from ${JSON.stringify(join(REPO_ROOT, "src/shared/jit-options.ts"))};
startupJitPolicy(${JSON.stringify(args)});
const hot = async (batch: string) => {
  const fs = Array.from({ length: 40 }, (_, k) =>
    new Function("x", \`let s = 0; for (let i = 0; i < 10; i++) s += x * i + \${k}; return s; // \${batch}\`));
  let t = 0;
  for (const f of fs) for (let i = 0; i < 1200; i++) t += f(i);
  // Optimized on compiler threads: given time to land (until the count holds still, at most 3 s).
  const count = () => fs.filter((f) => numberOfDFGCompiles(f) > 0).length;
  for (let waited = 0, last = -1; waited < 3000 && count() !== last; waited += 200) {
    last = count();
    await Bun.sleep(200);
  }
  return t > 0 ? count() : -1;
};
const atStart = await hot("start-up");
normalJitPolicy();
const afterJobStart = await hot("job started");
console.log(JSON.stringify({ atStart, afterJobStart }));
`,
  );
  const child = Bun.spawnSync([BUN, "--no-env-file", "--config=/dev/null", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stderr: "pipe",
  });
  expect(child.stderr.toString()).toBe("");
  return JSON.parse(child.stdout.toString());
}

test("roar run's start-up code is not optimized; from the job's start it is as usual", () => {
  const { atStart, afterJobStart } = optimizedCounts(["run", "true"]);
  expect(atStart).toBeLessThanOrEqual(5);
  expect(afterJobStart).toBeGreaterThanOrEqual(15);
}, 20_000);

test("other commands run with the normal policy from the start", () => {
  const { atStart, afterJobStart } = optimizedCounts(["status"]);
  expect(atStart).toBeGreaterThanOrEqual(15);
  expect(afterJobStart).toBeGreaterThanOrEqual(15);
}, 20_000);
