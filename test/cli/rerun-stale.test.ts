/**
 * `roar rerun` (issue 13, item 3): re-runs every stale step in dependency order with its recorded argv, cwd and
 * [env]; skips a step its upstream re-run brought up to date; stops at the first failure; `--dry-run` prints the
 * plan; a target (`@N` or an artifact) limits it to what that needs.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Value from "typebox/value";
import { RerunPlanJson } from "../../src/schema/rerun.ts";
import type { StatusJson } from "../../src/schema/status.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, roarJson, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;
const T = 240_000;

const PARAMS = `p = dict(l.split(": ") for l in open("params.yaml").read().splitlines())\n`;
const FILES: Record<string, string> = {
  "prep.py": `${PARAMS}open("clean.txt", "w").write(open("raw.txt").read().upper() * int(p["repeat"]))\n`,
  // Reads only clean.txt, from a subdirectory: its recorded cwd is stats/.
  "stats/stats.py": `open("stats.txt", "w").write("chars %d\\n" % len(open("../clean.txt").read()))\n`,
  "train.py": `import os
${PARAMS}if p["lr"] == "bad":
    raise SystemExit("bad learning rate")
open("model.txt", "w").write("model lr=%s seed=%s n=%d\\n" % (p["lr"], os.environ.get("SEED"), len(open("clean.txt").read())))
`,
  "eval.py": `open("metrics.txt", "w").write("score %d\\n" % len(open("model.txt").read()))\n`,
  "params.yaml": "repeat: 2\nlr: 0.1\n",
  "raw.txt": "abc\n",
};

async function pipeline(): Promise<string> {
  const repo = tempRepo();
  mkdirSync(join(repo, "stats"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(repo, name), text);
  await roar(["init", "-y"], { cwd: repo });
  await roar(["env", "set", "SEED", "7"], { cwd: repo });
  commitAll(repo, "pipeline");
  for (const [argv, cwd] of [
    [["python3", "prep.py"], repo],
    [["python3", "stats.py"], join(repo, "stats")],
    [["python3", "train.py"], repo],
    [["python3", "eval.py"], repo],
  ] as const) {
    const r = await roar(["run", "-q", ...argv], { cwd });
    if (r.code !== 0) throw new Error(`roar run ${argv.join(" ")}: ${r.stderr}`);
  }
  return repo;
}

const jobsOf = async (repo: string) =>
  (await roarJson<{ jobs: { step: number }[] }>(["log", "--json"], { cwd: repo })).jobs.map((j) => j.step);

describe.skipIf(!tracerAvailable)("roar rerun", () => {
  test(
    "dry run, then the stale steps in order; a step whose inputs came out identical is skipped",
    async () => {
      const repo = await pipeline();
      const nothing = await roar(["rerun", "--dry-run"], { cwd: repo });
      expect(nothing.stdout).toContain("The pipeline is up to date; nothing to re-run.");

      writeFileSync(join(repo, "params.yaml"), "repeat: 2\nlr: 0.5\n");
      // The environment of the recording, not today's [env], is what a re-run uses.
      await roar(["env", "set", "SEED", "8"], { cwd: repo });
      commitAll(repo, "lr 0.5");
      const plan = await roarJson<RerunPlanJson>(["rerun", "--dry-run", "--json"], { cwd: repo });
      expect(Value.Check(RerunPlanJson, plan)).toBe(true);
      expect(plan.steps.map((s) => [s.label, s.cwd, s.reasons.map((r) => r.cause)])).toEqual([
        ["@1", "", ["input"]],
        ["@2", "stats", ["upstream-stale"]],
        ["@3", "", ["input", "upstream-stale"]],
        ["@4", "", ["upstream-stale"]],
      ]);
      const text = await roar(["rerun", "--dry-run"], { cwd: repo });
      expect(text.stdout).toContain("Would re-run 4 steps, in this order:");
      expect(text.stdout).toContain("params.yaml changed since it was read");
      expect(await jobsOf(repo)).toHaveLength(4); // nothing ran

      const r = await roar(["rerun", "-q"], { cwd: repo });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("re-running 4 stale steps: @1, @2, @3, @4");
      // prep wrote the same clean.txt (repeat is unchanged): stats no longer needed a re-run.
      expect(r.stderr).toContain("@2 is up to date now");
      expect((await jobsOf(repo)).sort()).toEqual([1, 1, 2, 3, 3, 4, 4]);
      expect(readFileSync(join(repo, "model.txt"), "utf8")).toBe("model lr=0.5 seed=7 n=8\n");
      const status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(status.staleSteps).toEqual([]);
      expect((await roar(["rerun"], { cwd: repo })).stderr).toContain("up to date; nothing to re-run");

      // An uncommitted change: refused like `roar run`, unless --allow-dirty.
      writeFileSync(join(repo, "params.yaml"), "repeat: 2\nlr: 0.9\n");
      const refused = await roar(["rerun", "-q"], { cwd: repo });
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain("modified:  params.yaml");
      expect(refused.stderr).toContain("roar: rerun stopped: @1 could not be run (exit 125); not run: @2, @3, @4");
      expect((await roar(["rerun", "-q", "--allow-dirty"], { cwd: repo })).code).toBe(0);
      expect(readFileSync(join(repo, "model.txt"), "utf8")).toBe("model lr=0.9 seed=7 n=8\n");
      expect((await roarJson<StatusJson>(["status", "--json"], { cwd: repo })).staleSteps).toEqual([]);
    },
    T,
  );

  test(
    "a target limits it to what that needs; the first failure stops it with the step's exit status",
    async () => {
      const repo = await pipeline();
      writeFileSync(join(repo, "params.yaml"), "repeat: 3\nlr: 0.1\n");
      commitAll(repo, "repeat 3");
      const forStats = await roarJson<RerunPlanJson>(["rerun", "--dry-run", "--json", "stats/stats.txt"], {
        cwd: repo,
      });
      expect(forStats.steps.map((s) => s.label)).toEqual(["@1", "@2"]);
      const forStep = await roarJson<RerunPlanJson>(["rerun", "--dry-run", "--json", "@3"], { cwd: repo });
      expect(forStep.steps.map((s) => s.label)).toEqual(["@1", "@3"]);
      expect((await roar(["rerun", "-q", "@2"], { cwd: repo })).code).toBe(0);
      expect((await jobsOf(repo)).sort()).toEqual([1, 1, 2, 2, 3, 4]);
      expect(readFileSync(join(repo, "stats/stats.txt"), "utf8")).toBe("chars 12\n");

      writeFileSync(join(repo, "params.yaml"), "repeat: 3\nlr: bad\n");
      commitAll(repo, "a bad lr");
      const failed = await roar(["rerun", "-q"], { cwd: repo });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("bad learning rate");
      expect(failed.stderr).toContain("roar: rerun stopped: @3 failed (exit 1); not run: @4");
      // @1 re-ran (params changed), @3 failed and is still step 3, @4 never started.
      expect((await jobsOf(repo)).sort()).toEqual([1, 1, 1, 2, 2, 3, 3, 4]);
      // A step whose latest run failed is stale until it succeeds: the next rerun starts with it.
      const after = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(after.stale.map((x) => [x.label, x.reasons.map((r) => r.message)])).toEqual([
        ["@3", ["its latest run failed (exit 1)"]],
        ["@4", ["depends on stale @3"]],
      ]);
      const bad = await roar(["rerun", "--dry-run", "nope.txt"], { cwd: repo });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("roar: Not found: nope.txt");
    },
    T,
  );
});
