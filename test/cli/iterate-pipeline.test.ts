/**
 * The iteration loop end to end (issue 13, "Done when"): a four-stage pipeline in the style of DVC's example
 * (prepare → featurize → train → evaluate, params.yaml), stdlib-only Python run from a venv, taken through one
 * ordinary iteration — run every stage; edit a parameter and commit; `status` names exactly the stale steps and
 * why; `roar rerun` re-runs exactly those; `diff` shows the parameter and the metric that changed; and both the
 * old and the new metrics file rebuild `identical` with `reproduce --run`.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatusJson } from "../../src/schema/status.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

const STAGES: Record<string, string> = {
  // Splits the raw rows deterministically: every k-th row goes to the test set (--test-every k).
  "src/prepare.py": `import argparse, os
a = argparse.ArgumentParser(); a.add_argument("raw"); a.add_argument("--test-every", type=int, default=4)
args = a.parse_args()
rows = [l.strip() for l in open(args.raw) if l.strip()][1:]
os.makedirs("data/prepared", exist_ok=True)
with open("data/prepared/train.csv", "w") as tr, open("data/prepared/test.csv", "w") as te:
    for i, row in enumerate(rows):
        (te if i % args.test_every == 0 else tr).write(row + "\\n")
`,
  // Features: the text length and the number of words of each row, with its label.
  "src/featurize.py": `import argparse, os
a = argparse.ArgumentParser(); a.add_argument("--max-words", type=int, default=50)
args = a.parse_args()
os.makedirs("data/features", exist_ok=True)
for part in ("train", "test"):
    with open("data/features/%s.csv" % part, "w") as out:
        for row in open("data/prepared/%s.csv" % part):
            label, text = row.rstrip("\\n").split(",", 1)
            out.write("%s,%d,%d\\n" % (label, len(text), min(len(text.split()), args.max_words)))
`,
  // A "model": per label, the mean of each feature; n_est averaging passes and a seed, from params.yaml.
  "src/train.py": `import json, random
params = {}
section = None
for line in open("params.yaml"):
    if not line.strip():
        continue
    if not line.startswith(" "):
        section = line.strip().rstrip(":"); params[section] = {}
    else:
        k, v = line.strip().split(": "); params[section][k] = v
p = params["train"]
random.seed(int(p["seed"]))
rows = [r.strip().split(",") for r in open("data/features/train.csv")]
model = {}
for label in sorted({r[0] for r in rows}):
    mine = [r for r in rows if r[0] == label]
    passes = [random.sample(mine, max(1, len(mine) // 2)) for _ in range(int(p["n_est"]))]
    model[label] = [round(sum(sum(float(r[i]) for r in s) / len(s) for s in passes) / len(passes), 3) for i in (1, 2)]
json.dump({"params": p, "centroids": model}, open("model.json", "w"), sort_keys=True)
`,
  "src/evaluate.py": `import json
m = json.load(open("model.json"))["centroids"]
rows = [r.strip().split(",") for r in open("data/features/test.csv")]
def predict(x):
    return min(m, key=lambda lab: sum((a - float(b)) ** 2 for a, b in zip(m[lab], x)))
hits = sum(predict(r[1:]) == r[0] for r in rows)
loss = sum(sum((a - float(b)) ** 2 for a, b in zip(m[r[0]], r[1:])) for r in rows) / len(rows)
json.dump({"accuracy": round(hits / len(rows), 4), "loss": round(loss, 4), "n": len(rows)}, open("metrics.json", "w"), sort_keys=True)
`,
  "params.yaml": "train:\n  n_est: 5\n  seed: 7\n",
  ".gitignore": ".test-home/\ndata/\nmodel.json\nmetrics.json\n",
};

const RAW = [
  "label,text",
  ...Array.from({ length: 40 }, (_, i) =>
    i % 2 === 0 ? `spam,win a free prize now number ${i} click here today` : `ham,see you at lunch ${i}`,
  ),
].join("\n");

interface Report {
  target: { state: string };
  artifacts: { path: string; state: string }[];
}

describe.skipIf(!tracerAvailable)("the iteration loop", () => {
  test("run all stages → edit params and commit → status → rerun → diff → reproduce old and new", async () => {
    const venv = join(tempDir("roar-venv-"), "venv");
    expect(Bun.spawnSync(["python3", "-m", "venv", "--without-pip", venv]).exitCode).toBe(0);
    const python = join(venv, "bin/python");
    const bare = join(tempDir("roar-bare-"), "origin.git");
    Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
    const repo = tempRepo();
    mkdirSync(join(repo, "src"));
    for (const [name, text] of Object.entries(STAGES)) writeFileSync(join(repo, name), text);
    git(repo, "remote", "add", "origin", bare);
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo, "pipeline");
    git(repo, "push", "-q", "origin", "main");
    mkdirSync(join(repo, "data"));
    writeFileSync(join(repo, "data/raw.csv"), `${RAW}\n`);

    const stages = [
      [python, "src/prepare.py", "data/raw.csv", "--test-every", "4"],
      [python, "src/featurize.py", "--max-words", "20"],
      [python, "src/train.py"],
      [python, "src/evaluate.py"],
    ];
    for (const argv of stages) {
      const r = await roar(["run", "-q", ...argv], { cwd: repo });
      expect({ argv, code: r.code, stderr: r.stderr }).toEqual({ argv, code: 0, stderr: "" });
    }
    const oldMetrics = b3sum(join(repo, "metrics.json"));
    const oldLoss = (JSON.parse(readFileSync(join(repo, "metrics.json"), "utf8")) as { loss: number }).loss;
    let status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
    expect(status.runSteps).toBe(4);
    expect(status.staleSteps).toEqual([]);

    // The iteration: more averaging passes and another seed, committed.
    writeFileSync(join(repo, "params.yaml"), "train:\n  n_est: 50\n  seed: 3\n");
    commitAll(repo, "train: n_est 50, seed 3");
    git(repo, "push", "-q", "origin", "main");
    status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
    expect(status.staleSteps).toEqual([3, 4]);
    expect(status.stale.map((s) => [s.label, s.reasons.map((r) => [r.cause, r.path ?? r.steps])])).toEqual([
      ["@3", [["input", "params.yaml"]]],
      ["@4", [["upstream-stale", [3]]]],
    ]);
    const text = await roar(["status"], { cwd: repo });
    expect(text.stdout).toContain("Stale steps: @3, @4");
    expect(text.stdout).toContain("@3  params.yaml changed since it was read");

    const rerun = await roar(["rerun", "-q"], { cwd: repo });
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain("re-running 2 stale steps: @3, @4");
    const log = await roarJson<{ jobs: { step: number }[] }>(["log", "--json"], { cwd: repo });
    expect(log.jobs.map((j) => j.step)).toEqual([4, 3, 4, 3, 2, 1]);
    expect((await roarJson<StatusJson>(["status", "--json"], { cwd: repo })).staleSteps).toEqual([]);
    const newMetrics = b3sum(join(repo, "metrics.json"));
    expect(newMetrics).not.toBe(oldMetrics);

    // What changed: the parameter (train's input), and the model and the metric it led to.
    const trainDiff = await roar(["diff", "@3"], { cwd: repo });
    expect(trainDiff.code).toBe(0);
    expect(trainDiff.stdout).toContain("params.yaml");
    expect(trainDiff.stdout).toContain("train.n_est: 5 → 50");
    expect(trainDiff.stdout).toContain("train.seed: 7 → 3");
    const metricsDiff = await roar(["diff", "metrics.json"], { cwd: repo });
    expect(metricsDiff.code).toBe(0);
    const newLoss = (JSON.parse(readFileSync(join(repo, "metrics.json"), "utf8")) as { loss: number }).loss;
    expect(newLoss).not.toBe(oldLoss);
    expect(metricsDiff.stdout).toContain(`loss: ${oldLoss} → ${newLoss}`);
    expect(metricsDiff.stdout).toContain("model.json");

    // Both versions of the metrics rebuild identically, each stage at its own commit with its own params.
    for (const digest of [oldMetrics, newMetrics]) {
      const dest = join(tempDir(), "rebuild");
      const r = await roar(["reproduce", digest, "--run", "-y", "--dest", dest, "--json"], { cwd: repo });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const report = JSON.parse(r.stdout) as Report;
      expect(report.target.state).toBe("identical");
      expect(report.artifacts.every((a) => a.state === "identical")).toBe(true);
      expect(b3sum(join(dest, "metrics.json"))).toBe(digest);
    }
  }, 600_000);
});
