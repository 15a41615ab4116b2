/** Every `--json` output of every command parses as JSON and carries `schemaVersion` (a public contract). */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

test("every --json document parses and has schemaVersion", async () => {
  const repo = tempRepo({
    "copy.py": "import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read() * 2)\n",
    "in.txt": "json\n",
  });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  await roar(["env", "set", "SEED", "1"], { cwd: repo });
  const run = await roar(["run", "--json", "python3", "copy.py", "in.txt", "mid.txt"], { cwd: repo });
  expect(run.code).toBe(0);
  await roar(["run", "-q", "python3", "copy.py", "mid.txt", "out.txt"], { cwd: repo });
  const out = b3sum(join(repo, "out.txt"));
  const commands: string[][] = [
    ["config", "list", "--json"],
    ["config", "get", "glaas.url", "--json"],
    ["env", "list", "--json"],
    ["tracer", "status", "--json"],
    ["dag", "--json"],
    ["log", "--json"],
    ["status", "--json"],
    ["show", "--json"],
    ["show", "@1", "--json"],
    ["show", "out.txt", "--json"],
    ["show", out.slice(0, 12), "--json"],
    ["lineage", "out.txt", "--json"],
    ["diff", "@1", "@2", "--json"],
    ["reproduce", out.slice(0, 12), "--json"],
    ["rerun", "--dry-run", "--json"],
  ];
  const outputs = [run.stdout];
  for (const args of commands) {
    const r = await roar(args, { cwd: repo });
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    outputs.push(r.stdout);
  }
  for (const text of outputs) {
    const doc = JSON.parse(text) as { schemaVersion?: unknown };
    expect(doc.schemaVersion).toBe(1);
  }
}, 120_000);
