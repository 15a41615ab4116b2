import { describe, expect, test } from "bun:test";
import Value from "typebox/value";
import { LineageJson } from "../../src/schema/lineage.ts";
import { roar, roarJson } from "../helpers/cli.ts";
import { pipelineRepo, run, runAvailable } from "./dag-e2e.ts";

describe.skipIf(!runAvailable)("roar lineage", () => {
  test("the lineage of the last artifact lists exactly its upstream jobs", async () => {
    const repo = await pipelineRepo();
    await run(repo, ["python3", "preprocess.py", "data.csv", "clean.csv"]);
    await run(repo, ["python3", "feature.py", "a", "clean.csv", "fa.txt"]);
    await run(repo, ["python3", "feature.py", "b", "clean.csv", "fb.txt"]);
    await run(repo, ["python3", "gen.py", "unrelated.txt"]);
    await run(repo, ["python3", "combine.py", "all.txt", "fa.txt", "fb.txt"]);
    const doc = await roarJson<LineageJson>(["lineage", "all.txt", "--json"], { cwd: repo });
    expect(Value.Check(LineageJson, doc)).toBe(true);
    expect(doc.jobs.map((j) => j.step).sort()).toEqual([1, 2, 3, 5]);
    expect(doc.jobs[0]?.step).toBe(5);
    expect(doc.artifacts.find((a) => a.path === "data.csv")?.producerUid).toBeNull();
    const shallow = await roarJson<LineageJson>(["lineage", "all.txt", "--json", "--depth", "1"], { cwd: repo });
    expect(shallow.jobs.map((j) => j.step)).toEqual([5]);
    expect(shallow.truncated).toBe(true);
    const text = await roar(["lineage", "all.txt"], { cwd: repo });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("@5 python3 combine.py");
    expect(text.stdout).toContain("data.csv");
    expect(text.stdout).not.toContain("unrelated");
    const show = await roarJson<{ type: string; producedBy: { step: number }[] }>(["show", "all.txt", "--json"], {
      cwd: repo,
    });
    expect(show.type).toBe("artifact");
    expect(show.producedBy.map((p) => p.step)).toEqual([5]);
  }, 180_000);
});
