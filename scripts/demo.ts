/**
 * The main job: a small three-step Python pipeline (preprocess → train → evaluate) recorded by roar in a
 * fresh git repository, then its DAG. Run with `npm run demo` (after `npm ci`).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { $ } from "bun";
import { ensureSystemPackages } from "./setup.ts";

const root = resolve(import.meta.dir, "..");
const roar = join(root, "bin/roar");

await ensureSystemPackages();
await $`bun ${join(root, "build.ts")}`;

const dir = mkdtempSync(join(tmpdir(), "roar-demo-"));
console.error(`demo: pipeline repository in ${dir}`);
$.cwd(dir);
$.env({
  ...process.env,
  GIT_AUTHOR_NAME: "roar demo",
  GIT_AUTHOR_EMAIL: "demo@roar.invalid",
  GIT_COMMITTER_NAME: "roar demo",
  GIT_COMMITTER_EMAIL: "demo@roar.invalid",
});

writeFileSync(
  join(dir, "preprocess.py"),
  `import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
features = [{"x": float(r["x"]), "y": float(r["y"])} for r in rows]
json.dump(features, open(sys.argv[2], "w"))
print(f"preprocessed {len(features)} rows")
`,
);
writeFileSync(
  join(dir, "train.py"),
  `import json, sys, argparse
p = argparse.ArgumentParser()
p.add_argument("features"); p.add_argument("model"); p.add_argument("--epochs", type=int, default=100)
a = p.parse_args()
data = json.load(open(a.features))
w = 0.0
for _ in range(a.epochs):
    grad = sum((w * d["x"] - d["y"]) * d["x"] for d in data) / len(data)
    w -= 0.5 * grad
json.dump({"w": w}, open(a.model, "w"))
print(f"trained w={w:.4f}")
`,
);
writeFileSync(
  join(dir, "evaluate.py"),
  `import json, sys
data = json.load(open(sys.argv[1])); model = json.load(open(sys.argv[2]))
mse = sum((model["w"] * d["x"] - d["y"]) ** 2 for d in data) / len(data)
json.dump({"mse": mse}, open(sys.argv[3], "w"))
print(f"mse={mse:.4f}")
`,
);
writeFileSync(
  join(dir, "data.csv"),
  `x,y\n${Array.from({ length: 50 }, (_, i) => `${(i / 50).toFixed(2)},${(3 * (i / 50)).toFixed(2)}`).join("\n")}\n`,
);
writeFileSync(join(dir, ".gitignore"), "features.json\nmodel.json\nmetrics.json\n");

await $`git init -q -b main && git add -A && git commit -q -m "demo pipeline"`;
await $`${roar} init -y`;
await $`git add .gitignore && git commit -q -m "ignore roar"`.nothrow();
await $`${roar} config list`.quiet();

const hasRun = (await $`${roar} run --help`.quiet().nothrow()).exitCode === 0;
if (!hasRun) {
  console.error("demo: roar run is not available in this build yet; showing the configuration instead");
  await $`${roar} config list`;
  process.exit(0);
}
await $`${roar} run python3 preprocess.py data.csv features.json`;
await $`${roar} run python3 train.py features.json model.json --epochs 200`;
await $`${roar} run python3 evaluate.py features.json model.json metrics.json`;
await $`${roar} dag`;
