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
      expect(bad.code).toBe(125); // roar run's own failure, docker-run style
      expect(bad.stderr).toContain("short option");
      const missing = await roar(["run", "-y", "@7"], { cwd: repo });
      expect(missing.stderr).toContain("No node @7 in DAG.");
    },
    T,
  );

  test(
    "an option the step never had is refused with the step's options, unless --add; a failed re-run stays step N",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt", "--epochs", "10", "--lr=0.1"]);
      const jobs = async () => (await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: repo })).jobs.length;
      expect(await jobs()).toBe(2);

      const refused = await roar(["run", "-y", "@2", "--n_est=100"], { cwd: repo });
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain("roar: step @2 has no option --n_est; its options: --epochs, --lr");
      expect(refused.stderr).toContain("roar run --add @2 --n_est=100");
      expect(await jobs()).toBe(2);

      // Asked for explicitly: appended; train.py's argparse rejects it, and the failed run is still step 2.
      const added = await roar(["run", "-y", "--add", "@2", "--n_est", "100"], { cwd: repo });
      expect(added.code).toBe(2);
      expect(added.stderr).toContain("unrecognized arguments: --n_est=100");
      const show = await roarJson<ShowJobJson>(["show", "@2", "--json"], { cwd: repo });
      expect(show.step).toBe(2);
      expect(show.status).toBe("failed");
      expect(show.command).toEqual([
        "python3",
        "train.py",
        "clean.csv",
        "model.txt",
        "--epochs",
        "10",
        "--lr=0.1",
        "--n_est=100",
      ]);
      const doc = await dag(repo, "--expanded");
      expect(doc.totalSteps).toBe(2);
      expect(doc.nodes.filter((n) => n.step === 2).map((n) => [n.state, n.status])).toEqual([
        ["superseded", "ok"],
        ["stale", "failed"],
      ]);
      // The failed run wrote nothing: model.txt is still the step's output; the step is stale because it failed.
      const afterFailure = await dag(repo, "--show-artifacts");
      expect(afterFailure.artifacts.find((a) => a.path === "model.txt")?.producerStep).toBe(2);
      expect(afterFailure.nodes.find((n) => n.step === 2)?.staleReasons).toEqual([
        { cause: "failed", message: "its latest run failed (exit 2)", exitCode: 2 },
      ]);
      // Overriding options it has still works without --add: here on the run before the failed one (@2~1).
      await run(repo, ["@2~1", "--epochs=20"], { args: ["-y"] });
      expect(readFileSync(join(repo, "model.txt"), "utf8")).toContain("epochs=20");
      expect((await dag(repo)).totalSteps).toBe(2);
    },
    T,
  );
});
