import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { roar, roarJson } from "../helpers/cli.ts";
import { dag, pipelineRepo, rerunAvailable, run } from "./dag-e2e.ts";

const T = 180_000;

// Skipped until `roar run` resolves step references (src/core/refs.ts, overrides.ts provide the pieces).
describe.skipIf(!rerunAvailable)("roar run @N", () => {
  test(
    "roar run @1 after deleting its output regenerates it",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      const before = readFileSync(join(repo, "clean.csv"), "utf8");
      rmSync(join(repo, "clean.csv"));
      expect((await roar(["status"], { cwd: repo })).stdout).toContain("missing   clean.csv");
      await run(repo, ["@1"], { args: ["-y"] });
      expect(existsSync(join(repo, "clean.csv"))).toBe(true);
      expect(readFileSync(join(repo, "clean.csv"), "utf8")).toBe(before);
      const doc = await dag(repo, "--expanded");
      expect(doc.totalSteps).toBe(1);
      expect(doc.nodes.map((n) => n.state)).toEqual(["superseded", "active"]);
    },
    T,
  );

  test(
    "roar run @2 --epochs=20 and --epochs 20 both change the recorded argv (same step)",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt", "--epochs", "10"]);
      await run(repo, ["@2", "--epochs=20"], { args: ["-y"] });
      let show = await roarJson<ShowJobJson>(["show", "@2", "--json"], { cwd: repo });
      expect(show.command).toEqual(["python3", "train.py", "clean.csv", "model.txt", "--epochs", "20"]);
      expect(readFileSync(join(repo, "model.txt"), "utf8")).toContain("epochs=20");
      await run(repo, ["@2", "--epochs", "30"], { args: ["-y"] });
      show = await roarJson<ShowJobJson>(["show", "@2", "--json"], { cwd: repo });
      expect(show.command).toEqual(["python3", "train.py", "clean.csv", "model.txt", "--epochs", "30"]);
      expect((await dag(repo)).totalSteps).toBe(2);
      const bad = await roar(["run", "-y", "@2", "-e", "3"], { cwd: repo });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("short option");
      const missing = await roar(["run", "-y", "@7"], { cwd: repo });
      expect(missing.stderr).toContain("No node @7 in DAG.");
    },
    T,
  );
});
