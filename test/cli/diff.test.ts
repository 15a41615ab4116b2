/** `roar diff`: two runs of a training step compared through the real CLI, jobs and artifacts. */
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Value } from "typebox/value";
import { DiffJson } from "../../src/schema/diff.ts";
import { commitAll, roar, roarJson, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";
import { runAvailable } from "./dag-e2e.ts";

const T = 180_000;

/** Reads params.yaml (a tiny parser of its own), writes metrics in three formats and a binary model. */
const TRAIN = `import argparse, json
p = argparse.ArgumentParser()
p.add_argument("--lr", default="0.1")
a = p.parse_args()
params = {}
section = None
for line in open("params.yaml"):
    if not line.strip():
        continue
    key, _, value = line.strip().partition(":")
    if not line.startswith(" "):
        section = key if not value.strip() else None
    if value.strip():
        params[(section + "." if section and line.startswith(" ") else "") + key] = value.strip()
layers = int(params["model.layers"])
acc = round(0.5 + layers * 0.1 - float(a.lr), 3)
json.dump({"lr": float(a.lr), "accuracy": acc, "eval": {"layers": layers}}, open("metrics.json", "w"))
open("metrics.csv", "w").write("accuracy,layers\\n%s,%d\\n" % (acc, layers))
open("summary.toml", "w").write("[run]\\nlayers = %d\\n" % layers)
open("model.bin", "wb").write(bytes([layers]) * 64)
`;

async function twoRuns(): Promise<string> {
  const repo = tempRepo({ "train.py": TRAIN, "params.yaml": "lr: 0.1\nmodel:\n  layers: 3\n" });
  expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
  commitAll(repo, "init roar");
  await roar(["env", "set", "SEED", "1"], { cwd: repo });
  const first = await roar(["run", "-q", "python3", "train.py", "--lr", "0.1"], { cwd: repo });
  expect(first.stderr).toBe("");
  // The results are committed (so the old versions stay reachable in git), except summary.toml.
  writeFileSync(join(repo, ".gitignore"), ".test-home/\n.roar/\nsummary.toml\n");
  commitAll(repo, "results of run 1");
  writeFileSync(join(repo, "params.yaml"), "lr: 0.1\nmodel:\n  layers: 4\n  dropout: 0.2\n");
  commitAll(repo, "four layers");
  await roar(["env", "set", "SEED", "2"], { cwd: repo });
  const second = await roar(["run", "-q", "python3", "train.py", "--lr", "0.05"], { cwd: repo });
  expect(second.code).toBe(0);
  return repo;
}

describe.skipIf(!runAvailable)("roar diff", () => {
  test(
    "two runs of a step: options, git, params and metrics key by key, env; text and --json",
    async () => {
      const repo = await twoRuns();
      const text = await roar(["diff", "@1"], { cwd: repo });
      expect(text.stderr).toBe("");
      expect(text.code).toBe(0);
      const out = text.stdout;
      expect(out).toContain("Jobs: @1~1 → @1");
      expect(out).toContain("- python3 train.py --lr 0.1");
      expect(out).toContain("+ python3 train.py --lr 0.05");
      expect(out).toContain("~ --lr: 0.1 → 0.05");
      expect(out).toMatch(/commit: [0-9a-f]{12} → [0-9a-f]{12} {2}\(2 commits later\)/);
      expect(out).toContain("four layers");
      expect(out).toContain("M params.yaml");
      // params.yaml (from git at each job's commit), key by key.
      expect(out).toContain("~ model.layers: 3 → 4");
      expect(out).toContain("+ model.dropout: 0.2");
      // metrics.json: the old version from git, the new one from the working tree.
      expect(out).toContain("~ accuracy: 0.7 → 0.85");
      expect(out).toContain("~ eval.layers: 3 → 4");
      expect(out).toContain("~ lr: 0.1 → 0.05");
      // summary.toml was never committed and has been overwritten: its old version is the copy roar kept.
      expect(out).toContain("~ run.layers: 3 → 4");
      expect(out).toContain('~ SEED: "1" → "2"');
      expect(out).toContain("Unchanged: packages, python");

      // @1~1 @1 is what `diff @1` means; --json carries the same, key by key.
      const doc = await roarJson<DiffJson>(["diff", "@1~1", "@1", "--json"], { cwd: repo });
      expect(Value.Check(DiffJson, doc)).toBe(true);
      expect(doc.schemaVersion).toBe(1);
      expect(doc.kind).toBe("jobs");
      expect(doc.identical).toBe(false);
      expect([doc.from?.label, doc.to?.label]).toEqual(["@1~1", "@1"]);
      const c = doc.changes;
      if (!c) throw new Error("no changes");
      expect(c.command.options).toEqual([{ option: "--lr", change: "changed", from: "0.1", to: "0.05" }]);
      expect(c.git.relation).toBe("ahead");
      expect(c.git.commits.map((k) => k.subject)).toEqual(["four layers", "results of run 1"]);
      const params = c.inputs.find((i) => i.path === "params.yaml");
      expect(params?.content?.available).toBe(true);
      expect(params?.content?.changes).toEqual([
        { key: "model.layers", change: "changed", from: 3, to: 4 },
        { key: "model.dropout", change: "added", to: 0.2 },
      ]);
      const byPath = new Map(c.outputs.map((o) => [o.path, o]));
      expect(byPath.get("metrics.csv")?.content?.changes).toEqual([
        { key: "accuracy", change: "changed", from: 0.7, to: 0.85 },
        { key: "layers", change: "changed", from: 3, to: 4 },
      ]);
      expect(byPath.get("model.bin")?.content).toBeNull();
      expect(byPath.get("model.bin")?.to?.blake3).toBe(b3sum(join(repo, "model.bin")));
      expect(byPath.get("summary.toml")?.content?.changes).toEqual([
        { key: "run.layers", change: "changed", from: 3, to: 4 },
      ]);
      expect(c.env).toEqual([{ key: "SEED", change: "changed", from: "1", to: "2" }]);
      expect(c.packages.every((p) => p.added.length + p.removed.length + p.changed.length === 0)).toBe(true);

      // Without that copy, only its digest change is known.
      rmSync(join(repo, ".roar/objects"), { recursive: true, force: true });
      expect((await roar(["diff", "@1"], { cwd: repo })).stdout).toMatch(
        /summary\.toml {2}[0-9a-f]{12} → [0-9a-f]{12}.*\n\s+\(content not available: no copy of the old version on disk, in \.roar\/objects or in git\)/,
      );

      // A job compared with itself.
      const same = await roarJson<DiffJson>(["diff", "@1", "@1", "--json"], { cwd: repo });
      expect(same.identical).toBe(true);

      // An uncommitted code change run with --allow-dirty: the stored patch and the files it touches.
      writeFileSync(join(repo, "train.py"), `${TRAIN}# tuned\n`);
      const dirty = await roar(["run", "-q", "--allow-dirty", "python3", "train.py", "--lr", "0.05"], { cwd: repo });
      expect(dirty.code).toBe(0);
      const patched = await roar(["diff", "@1"], { cwd: repo });
      expect(patched.stdout).toContain("Jobs: @1~1 → @1");
      expect(patched.stdout).toMatch(/uncommitted diff: none → [0-9a-f]{12} \(train\.py\)/);
      expect(patched.stdout).toContain("clean: true → false");
      const patchDoc = await roarJson<DiffJson>(["diff", "@1", "--json"], { cwd: repo });
      expect(patchDoc.changes?.git.patch?.toFiles).toEqual(["train.py"]);
      expect(patchDoc.changes?.command.changed).toBe(false);
    },
    T,
  );

  test(
    "artifacts: a path against its previous version, two digests, and the jobs that wrote them",
    async () => {
      const repo = await twoRuns();
      const text = await roar(["diff", "metrics.json"], { cwd: repo });
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^Artifacts: metrics\.json → metrics\.json\n/);
      expect(text.stdout).toContain("  ~ accuracy: 0.7 → 0.85");
      expect(text.stdout).toContain("Produced by:");
      expect(text.stdout).toContain("~ --lr: 0.1 → 0.05");

      const now = b3sum(join(repo, "metrics.json"));
      const before = await roarJson<DiffJson>(["diff", "@1~1", "@1", "--json"], { cwd: repo });
      const old = before.changes?.outputs.find((o) => o.path === "metrics.json")?.from?.blake3 as string;
      const doc = await roarJson<DiffJson>(["diff", old.slice(0, 12), now.slice(0, 12), "--json"], { cwd: repo });
      expect(Value.Check(DiffJson, doc)).toBe(true);
      expect(doc.kind).toBe("artifacts");
      expect(doc.artifacts?.from.blake3).toBe(old);
      expect(doc.artifacts?.to.blake3).toBe(now);
      expect(doc.artifacts?.content?.changes.map((k) => k.key)).toEqual(["lr", "accuracy", "eval.layers"]);
      expect([doc.from?.label, doc.to?.label]).toEqual(["@1~1", "@1"]);
      expect(doc.artifacts?.from.producer).toBe(doc.from?.uid ?? "");
    },
    T,
  );

  test(
    "bad references: one clear line and a non-zero exit",
    async () => {
      const repo = await twoRuns();
      const tooFar = await roar(["diff", "@1~5", "@1"], { cwd: repo });
      expect(tooFar.code).toBe(1);
      expect(tooFar.stderr).toStartWith("roar: No job @1~5: step @1 has only 1 earlier job.\n");
      const first = await roar(["diff", "@1~1"], { cwd: repo });
      expect(first.code).toBe(1);
      expect(first.stderr).toStartWith("roar: @1~1 has no earlier job to compare with\n");
      const mixed = await roar(["diff", "@1", "metrics.json"], { cwd: repo });
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toStartWith("roar: cannot compare a job with an artifact\n");
      const missing = await roar(["diff", "@7"], { cwd: repo });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toStartWith("roar: No node @7 in DAG.");
      expect(`${tooFar.stdout}${first.stdout}${mixed.stdout}${missing.stdout}`).toBe("");
    },
    T,
  );
});
