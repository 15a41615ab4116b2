/** Helpers for end-to-end pipeline tests: real Python scripts under the real `roar run` in temp git repos. */
import { expect } from "bun:test";
import type { DagJson } from "../../src/schema/dag.ts";
import { commitAll, type RunResult, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";

/** `roar run` exists on this build (the suite stays green while it does not). */
export const runAvailable = (await roar(["run", "--help"], { cwd: tempDir() })).code === 0;

/** `roar run @N` is wired (it answers an unknown step with the reference tool's message). */
export const rerunAvailable =
  runAvailable &&
  (await (async () => {
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init roar");
    const r = await roar(["run", "-y", "@999"], { cwd: repo });
    return r.stderr.includes("No node @999 in DAG.");
  })());

export const SCRIPTS: Record<string, string> = {
  "preprocess.py": `import sys
src, dst = sys.argv[1], sys.argv[2]
rows = [r.strip().lower() for r in open(src) if r.strip()]
open(dst, "w").write("\\n".join(rows) + "\\n")
`,
  "train.py": `import argparse
p = argparse.ArgumentParser()
p.add_argument("data"); p.add_argument("out")
p.add_argument("--lr", default="0.1"); p.add_argument("--epochs", default="10")
a = p.parse_args()
n = len(open(a.data).read())
open(a.out, "w").write(f"model lr={a.lr} epochs={a.epochs} n={n}\\n")
`,
  "evaluate.py": `import sys
model, data, out = sys.argv[1:4]
open(out, "w").write('{"score": %d}\\n' % (len(open(model).read()) + len(open(data).read())))
`,
  "feature.py": `import sys
kind, src, dst = sys.argv[1:4]
open(dst, "w").write(kind + ":" + open(src).read())
`,
  "combine.py": `import sys
out, *ins = sys.argv[1:]
open(out, "w").write("".join(open(i).read() for i in ins))
`,
  "gen.py": `import sys
open(sys.argv[1], "w").write("generated " + sys.argv[1] + "\\n")
`,
  "step.py": `import sys
src, dst = sys.argv[1:3]
open(dst, "w").write(open(src).read() + dst + "\\n")
`,
  "flaky.py": `import os, sys
if not os.environ.get("FLAKY_OK"):
    sys.exit(3)
open(sys.argv[2], "w").write("ok " + open(sys.argv[1]).read())
`,
};

/** A committed repo with the scripts, data files and an initialized roar. */
export async function pipelineRepo(files: Record<string, string> = {}): Promise<string> {
  const repo = tempRepo({ ...SCRIPTS, "data.csv": "A,B\n1,2\n3,4\n", ...files });
  const init = await roar(["init", "-y"], { cwd: repo });
  expect(init.code).toBe(0);
  commitAll(repo, "init roar");
  return repo;
}

/** `roar run <argv>` that must succeed (unless `expectCode` says otherwise). */
export async function run(
  repo: string,
  argv: string[],
  opts: { expectCode?: number; env?: Record<string, string>; args?: string[] } = {},
): Promise<RunResult> {
  const r = await roar(["run", ...(opts.args ?? []), ...argv], { cwd: repo, env: opts.env, timeoutMs: 120_000 });
  if (r.code !== (opts.expectCode ?? 0)) {
    throw new Error(`roar run ${argv.join(" ")} exited ${r.code}\n${r.stderr}`);
  }
  return r;
}

export async function dag(repo: string, ...flags: string[]): Promise<DagJson> {
  return roarJson<DagJson>(["dag", "--json", ...flags], { cwd: repo });
}

/** [step, dependencies] of the current nodes. */
export function deps(doc: DagJson): [number, number[]][] {
  return doc.nodes.map((n) => [n.step, n.dependencies]);
}
