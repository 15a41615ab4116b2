import { describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { commitAll, roar, roarJson } from "../helpers/cli.ts";
import { dag, deps, pipelineRepo, run, runAvailable } from "./dag-e2e.ts";

const T = 180_000;

describe.skipIf(!runAvailable)("pipelines under the real roar run", () => {
  test(
    "linear: preprocess → train → evaluate",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt"]);
      await run(repo, ["python3", "evaluate.py", "model.txt", "clean.csv", "metrics.json"]);
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(3);
      expect(deps(doc)).toEqual([
        [1, []],
        [2, [1]],
        [3, [1, 2]],
      ]);
      expect(doc.artifacts.filter((a) => a.isTerminal).map((a) => a.path)).toEqual(["metrics.json"]);
      const text = await roar(["dag"], { cwd: repo });
      expect(text.stdout).toContain("Pipeline: 3 steps");
      expect(text.stdout).toMatch(/└──> @2 python3 train\.py clean\.csv model\.txt {2}in:1 out:1/);
      expect(text.stdout).toContain("(metrics.json)");
      const log = await roar(["log"], { cwd: repo });
      expect(log.stdout).toContain("Job Log (3 jobs)");
      const show = await roarJson<ShowJobJson>(["show", "@2", "--json"], { cwd: repo });
      expect(show.command).toEqual(["python3", "train.py", "clean.csv", "model.txt"]);
      expect(show.inputs.map((i) => i.path)).toEqual(["clean.csv"]);
      expect(show.outputs.map((o) => o.path)).toEqual(["model.txt"]);
      expect(show.trace.complete).toBe(true);
    },
    T,
  );

  test(
    "diamond: two feature extractors → combine (drawn once)",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "feature.py", "a", "clean.csv", "fa.txt"]);
      await run(repo, ["python3", "feature.py", "b", "clean.csv", "fb.txt"]);
      await run(repo, ["python3", "combine.py", "all.txt", "fa.txt", "fb.txt"]);
      const doc = await dag(repo);
      expect(deps(doc)).toEqual([
        [1, []],
        [2, [1]],
        [3, [1]],
        [4, [2, 3]],
      ]);
      const text = (await roar(["dag"], { cwd: repo })).stdout;
      expect(text.match(/combine\.py/g)?.length).toBe(1);
    },
    T,
  );

  test(
    "fan-in of three and an ensemble of three trainings",
    async () => {
      const repo = await pipelineRepo();
      for (const f of ["a.txt", "b.txt", "c.txt"]) await run(repo, ["python3", "gen.py", f]);
      await run(repo, ["python3", "combine.py", "abc.txt", "a.txt", "b.txt", "c.txt"]);
      expect(deps(await dag(repo)).at(-1)).toEqual([4, [1, 2, 3]]);

      await run(repo, ["python3", "train.py", "a.txt", "m1.txt", "--lr", "0.1", "--epochs", "5"]);
      await run(repo, ["python3", "train.py", "a.txt", "m2.txt", "--lr", "0.01", "--epochs", "10"]);
      await run(repo, ["python3", "train.py", "a.txt", "m3.txt", "--lr=0.001", "--epochs=20"]);
      await run(repo, ["python3", "combine.py", "ensemble.txt", "m1.txt", "m2.txt", "m3.txt"]);
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(8);
      expect(deps(doc).at(-1)).toEqual([8, [5, 6, 7]]);
    },
    T,
  );

  test(
    "hyperparameter sweep writing different model files: one step per file",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      for (const lr of ["0.1", "0.01", "0.001"]) {
        await run(repo, ["python3", "train.py", "clean.csv", `model_lr${lr}.txt`, "--lr", lr]);
      }
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(4);
      expect(new Set(doc.artifacts.map((a) => a.blake3)).size).toBe(3);
      expect(deps(doc).slice(1)).toEqual([
        [2, [1]],
        [3, [1]],
        [4, [1]],
      ]);
    },
    T,
  );

  test(
    "rerun after changing the input: downstream stale, --expanded shows both runs",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt"]);
      await run(repo, ["python3", "evaluate.py", "model.txt", "clean.csv", "metrics.json"]);
      writeFileSync(join(repo, "data.csv"), "A,B\n5,6\n");
      commitAll(repo, "new data");
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(3);
      expect(doc.staleCount).toBe(2);
      expect(doc.nodes.map((n) => [n.step, n.state])).toEqual([
        [1, "active"],
        [2, "stale"],
        [3, "stale"],
      ]);
      const expanded = await dag(repo, "--expanded");
      expect(expanded.nodes.filter((n) => n.step === 1).map((n) => n.state)).toEqual(["superseded", "active"]);
      const text = (await roar(["dag", "--expanded"], { cwd: repo })).stdout;
      expect(text).toContain("[superseded]");
      expect(text).toMatch(/@2 .* \*/);
      const status = await roar(["status"], { cwd: repo });
      expect(status.stdout).toContain("Stale steps: @2, @3");
      const staleOnly = await dag(repo, "--stale-only");
      expect(staleOnly.nodes.map((n) => n.step)).toEqual([2, 3]);
    },
    T,
  );

  test(
    "a failing step re-run until it succeeds",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "flaky.py", "clean.csv", "ok.txt"], { expectCode: 3 });
      await run(repo, ["python3", "flaky.py", "clean.csv", "ok.txt"], { expectCode: 3 });
      await run(repo, ["python3", "flaky.py", "clean.csv", "ok.txt"], { env: { FLAKY_OK: "1" } });
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(2);
      expect(doc.nodes[1]).toMatchObject({ step: 2, exitCode: 0, state: "active" });
      const expanded = await dag(repo, "--expanded");
      expect(expanded.nodes.filter((n) => n.step === 2).map((n) => [n.exitCode, n.state])).toEqual([
        [3, "superseded"],
        [3, "superseded"],
        [0, "active"],
      ]);
      const log = await roar(["log"], { cwd: repo });
      expect(log.stdout.match(/FAIL/g)?.length).toBe(2);
    },
    T,
  );

  test(
    "a build step followed by run steps: @B1, @2",
    async () => {
      const repo = await pipelineRepo();
      const b = await roar(["build", "python3", "gen.py", "lib.txt"], { cwd: repo });
      expect(b.code).toBe(0);
      await run(repo, ["python3", "step.py", "lib.txt", "out.txt"]);
      const doc = await dag(repo);
      expect(doc.nodes.map((n) => [n.label, n.isBuild])).toEqual([
        ["@B1", true],
        ["@2", false],
      ]);
      const text = (await roar(["dag"], { cwd: repo })).stdout;
      expect(text).toContain("@B1 python3 gen.py lib.txt");
      expect(text).toContain("└──> @2 python3 step.py lib.txt out.txt");
    },
    T,
  );

  test(
    "a 12-step chain",
    async () => {
      const repo = await pipelineRepo();
      let prev = "data.csv";
      for (let i = 1; i <= 12; i++) {
        await run(repo, ["python3", "step.py", prev, `s${i}.txt`]);
        prev = `s${i}.txt`;
      }
      const doc = await dag(repo);
      expect(doc.totalSteps).toBe(12);
      expect(deps(doc)).toEqual(Array.from({ length: 12 }, (_, i) => [i + 1, i === 0 ? [] : [i]]));
      const text = (await roar(["dag"], { cwd: repo })).stdout;
      expect(text).toContain(`${" ".repeat(5 * 10)}└──> @12`);
    },
    T * 2,
  );

  test(
    "renaming an intermediate file between steps keeps the edge",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      renameSync(join(repo, "clean.csv"), join(repo, "renamed.csv"));
      commitAll(repo, "rename");
      await run(repo, ["python3", "train.py", "renamed.csv", "model.txt"]);
      const doc = await dag(repo);
      expect(deps(doc)).toEqual([
        [1, []],
        [2, [1]],
      ]);
      expect(doc.staleCount).toBe(0);
    },
    T,
  );
});
