/**
 * Staleness beyond re-runs (issue 13, item 2): a file a step read changed on disk, a tracked file it read changed
 * in git (committed or not), each shown with its reason by `status` and `dag` (text and --json); and a re-run that
 * writes nothing (`make: Nothing to be done`) keeps the step's outputs current.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Value from "typebox/value";
import { DagJson } from "../../src/schema/dag.ts";
import { StatusJson } from "../../src/schema/status.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, roarJson, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;
const T = 180_000;

const PREP = `import sys
p = dict(l.split(": ") for l in open("params.yaml").read().splitlines())
open("clean.txt", "w").write(open("raw.txt").read().upper() * int(p["repeat"]))
`;
const TRAIN = `p = dict(l.split(": ") for l in open("params.yaml").read().splitlines())
open("model.txt", "w").write("model lr=%s n=%d\\n" % (p["lr"], len(open("clean.txt").read())))
`;
const EVAL = `open("metrics.txt", "w").write("score %d\\n" % len(open("model.txt").read()))
`;

async function run(repo: string, ...argv: string[]): Promise<void> {
  const r = await roar(["run", "-q", ...argv], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar run ${argv.join(" ")}: ${r.stderr}`);
}

type Reasons = StatusJson["stale"];
const reasonsOf = (stale: Reasons) =>
  Object.fromEntries(stale.map((s) => [s.label, s.reasons.map((r) => [r.cause, r.path ?? r.steps])]));

describe.skipIf(!tracerAvailable)("stale steps and why", () => {
  test(
    "a data file regenerated outside roar, a committed and an uncommitted code change: status and dag say which",
    async () => {
      const repo = tempRepo({
        "prep.py": PREP,
        "train.py": TRAIN,
        "eval.py": EVAL,
        "params.yaml": "repeat: 2\nlr: 0.1\n",
        ".gitignore": ".test-home/\nraw.txt\n",
      });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "pipeline");
      writeFileSync(join(repo, "raw.txt"), "abc\n");
      await run(repo, "python3", "prep.py");
      await run(repo, "python3", "train.py");
      await run(repo, "python3", "eval.py");
      let status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(status.staleSteps).toEqual([]);
      expect(status.stale).toEqual([]);

      // (b) The ignored data file is regenerated with other bytes (same size): @1 read it.
      writeFileSync(join(repo, "raw.txt"), "xyz\n");
      status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(Value.Check(StatusJson, status)).toBe(true);
      expect(status.staleSteps).toEqual([1, 2, 3]);
      expect(reasonsOf(status.stale)).toEqual({
        "@1": [["input", "raw.txt"]],
        "@2": [["upstream-stale", [1]]],
        "@3": [["upstream-stale", [2]]],
      });
      const input = status.stale[0]?.reasons[0];
      expect(input?.blake3).toHaveLength(64);
      expect(input?.currentBlake3).toHaveLength(64);
      expect(input?.currentBlake3).not.toBe(input?.blake3);
      const text = await roar(["status"], { cwd: repo });
      expect(text.stdout).toContain("Stale steps: @1, @2, @3");
      expect(text.stdout).toMatch(/@1 {2}raw\.txt changed since it was read \(read [0-9a-f]{12}, now [0-9a-f]{12}\)/);
      expect(text.stdout).toContain("@3  depends on stale @2");
      // Back to the bytes it read: fresh again.
      writeFileSync(join(repo, "raw.txt"), "abc\n");
      expect((await roarJson<StatusJson>(["status", "--json"], { cwd: repo })).staleSteps).toEqual([]);

      // (c) train.py changes and is committed: @2 (and @3 after it), not @1.
      writeFileSync(join(repo, "train.py"), `${TRAIN}# tuned\n`);
      let doc = await roarJson<DagJson>(["dag", "--json"], { cwd: repo });
      expect(Value.Check(DagJson, doc)).toBe(true);
      expect(doc.nodes.map((n) => [n.label, n.state])).toEqual([
        ["@1", "active"],
        ["@2", "stale"],
        ["@3", "stale"],
      ]);
      expect(doc.nodes[1]?.staleReasons).toEqual([
        expect.objectContaining({ cause: "code", path: "train.py", committed: false }),
      ]);
      commitAll(repo, "tune train.py");
      doc = await roarJson<DagJson>(["dag", "--json"], { cwd: repo });
      const code = doc.nodes[1]?.staleReasons[0];
      expect(code).toMatchObject({ cause: "code", path: "train.py", committed: true });
      expect(code?.message).toMatch(/^train\.py changed in git since its commit [0-9a-f]{8}$/);
      expect(doc.nodes[0]?.staleReasons).toEqual([]);
      const dagText = await roar(["dag"], { cwd: repo });
      expect(dagText.stdout).toContain("Stale:\n  @2  train.py changed in git since its commit");
      expect(dagText.stdout).toContain("  @3  depends on stale @2");
    },
    T,
  );

  test(
    "a build re-run that writes nothing keeps its outputs current: consumers fresh, status still tracks them",
    async () => {
      const repo = tempRepo({
        Makefile: "all: lib.txt gen.txt\nlib.txt:\n\techo lib > lib.txt\ngen.txt:\n\techo gen > gen.txt\n",
        "use.py": "open('app.txt', 'w').write('app:' + open('lib.txt').read())\n",
        ".gitignore": ".test-home/\n",
      });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "make");
      expect((await roar(["build", "-q", "make"], { cwd: repo })).code).toBe(0);
      await run(repo, "python3", "use.py");
      const before = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(before.outputs.tracked).toBe(3);
      // Up to date: make writes nothing.
      const again = await roar(["build", "make"], { cwd: repo });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("Nothing to be done");
      const after = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(after.staleSteps).toEqual([]);
      expect(after.outputs).toEqual({ tracked: 3, present: 3, missing: 0, modified: 0 });
      const doc = await roarJson<DagJson>(["dag", "--json", "--show-artifacts"], { cwd: repo });
      expect(doc.nodes.map((n) => [n.label, n.state])).toEqual([
        ["@B1", "active"],
        ["@2", "active"],
      ]);
      expect(doc.artifacts.map((a) => [a.path, a.state]).sort()).toEqual([
        ["app.txt", "active"],
        ["gen.txt", "orphaned"],
        ["lib.txt", "active"],
      ]);
    },
    T,
  );
});
