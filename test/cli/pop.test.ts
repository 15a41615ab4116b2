import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { roar } from "../helpers/cli.ts";
import { dag, pipelineRepo, run, runAvailable } from "./dag-e2e.ts";

const T = 180_000;

describe.skipIf(!runAvailable)("roar pop", () => {
  test(
    "removes the last job and deletes its unchanged, unused outputs",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt"]);
      const r = await roar(["pop", "-y"], { cwd: repo });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("deleted  model.txt");
      expect(existsSync(join(repo, "model.txt"))).toBe(false);
      expect(existsSync(join(repo, "clean.csv"))).toBe(true);
      expect((await dag(repo)).totalSteps).toBe(1);
      // clean.csv is read by no remaining job, but data.csv (its input) is never touched.
      const again = await roar(["pop", "-y"], { cwd: repo });
      expect(again.stdout).toContain("deleted  clean.csv");
      expect(existsSync(join(repo, "data.csv"))).toBe(true);
    },
    T,
  );

  test(
    "keeps a modified output and says why",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt"]);
      writeFileSync(join(repo, "model.txt"), "hand-edited\n");
      const r = await roar(["pop", "-y"], { cwd: repo });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("kept     model.txt (modified since roar recorded it)");
      expect(existsSync(join(repo, "model.txt"))).toBe(true);
    },
    T,
  );

  test(
    "keeps an output that a remaining job read",
    async () => {
      const repo = await pipelineRepo();
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      await run(repo, ["python3", "train.py", "clean.csv", "model.txt"]);
      // Re-run step 1 (identical output): popping it must not delete clean.csv, which @2 read.
      await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
      const r = await roar(["pop", "-y"], { cwd: repo });
      expect(r.stdout).toMatch(/kept {5}clean\.csv \(/);
      expect(existsSync(join(repo, "clean.csv"))).toBe(true);
    },
    T,
  );
});
