/**
 * `roar pop` never destroys data: it deletes only files the job created; a file that existed before the job
 * (appended to, rewritten, replaced or deleted by it) is restored to its earlier bytes when roar has them
 * (.roar/objects with reversible.enabled, or git for a tracked file unchanged at the job's commit) and is kept
 * otherwise; a symlink is never followed to delete anything. Every case through the real CLI and tracers.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;

const APPEND_PY = `import sys
with open(sys.argv[1], "a") as f:
    f.write("appended by the job\\n")
`;
const REWRITE_PY = `import sys
open(sys.argv[1], "w").write("rewritten by the job\\n")
`;
const DELETE_PY = `import os, sys
os.remove(sys.argv[1])
`;

async function project(files: Record<string, string>, reversible: boolean): Promise<string> {
  const repo = tempRepo({ "append.py": APPEND_PY, "rewrite.py": REWRITE_PY, "delete.py": DELETE_PY, ...files });
  expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
  if (reversible) expect((await roar(["config", "set", "reversible.enabled", "true"], { cwd: repo })).code).toBe(0);
  commitAll(repo, "roar init");
  return repo;
}

async function pop(repo: string): Promise<{ text: string; json: PopJson }> {
  const r = await roar(["pop", "-y", "--json"], { cwd: repo });
  expect(r.code).toBe(0);
  return { text: r.stderr, json: JSON.parse(r.stdout) as PopJson };
}

interface PopJson {
  deleted: string[];
  restored: { path: string; from: string }[];
  kept: { path: string; reason: string }[];
}

async function run(repo: string, args: string[], tracer?: string): Promise<void> {
  const r = await roar(["run", "-q", ...(tracer ? ["--tracer", tracer] : []), ...args], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar run ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
}

const read = (repo: string, path: string) => readFileSync(join(repo, path), "utf8");

describe.skipIf(!tracerAvailable)("roar pop restores what the job changed, deletes only what it created", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: an ignored data file the job appended to is restored (reversible.enabled); a created file is deleted`, async () => {
      const repo = await project({ ".gitignore": ".test-home/\ndata.log\nnew.txt\n", "data.log": "" }, true);
      writeFileSync(join(repo, "data.log"), "precious history\n");
      await run(repo, ["sh", "-c", "python3 append.py data.log && echo made > new.txt"], tracer);
      expect(read(repo, "data.log")).toBe("precious history\nappended by the job\n");
      const { json } = await pop(repo);
      expect(read(repo, "data.log")).toBe("precious history\n");
      expect(json.restored.map((r) => r.path)).toEqual(["data.log"]);
      expect(json.deleted).toEqual(["new.txt"]);
      expect(existsSync(join(repo, "new.txt"))).toBe(false);
    }, 60_000);
  }

  test("without reversible.enabled an untracked file the job changed is kept, and pop says why", async () => {
    const repo = await project({ ".gitignore": ".test-home/\ndata.log\n" }, false);
    writeFileSync(join(repo, "data.log"), "precious history\n");
    await run(repo, ["python3", "append.py", "data.log"]);
    const { json } = await pop(repo);
    expect(read(repo, "data.log")).toBe("precious history\nappended by the job\n");
    expect(json.deleted).toEqual([]);
    expect(json.kept).toEqual([{ path: "data.log", reason: expect.stringContaining("reversible.enabled") }]);
  }, 60_000);

  test("a committed file the job rewrote is restored from git (no reversible needed)", async () => {
    const repo = await project({ "params.txt": "lr=0.1\n" }, false);
    await run(repo, ["python3", "rewrite.py", "params.txt"]);
    expect(read(repo, "params.txt")).toBe("rewritten by the job\n");
    const { json } = await pop(repo);
    expect(read(repo, "params.txt")).toBe("lr=0.1\n");
    expect(json.restored).toEqual([{ path: "params.txt", from: expect.stringContaining("from git") }]);
  }, 60_000);

  test("a committed file with uncommitted edits: kept without reversible, restored to the edited bytes with it", async () => {
    for (const reversible of [false, true]) {
      const repo = await project({ "params.txt": "lr=0.1\n" }, reversible);
      writeFileSync(join(repo, "params.txt"), "lr=0.5 (edited, not committed)\n");
      const r = await roar(["run", "-q", "--allow-dirty", "python3", "rewrite.py", "params.txt"], { cwd: repo });
      expect(r.code).toBe(0);
      const { json } = await pop(repo);
      if (reversible) {
        expect(read(repo, "params.txt")).toBe("lr=0.5 (edited, not committed)\n");
        expect(json.restored.map((x) => x.path)).toEqual(["params.txt"]);
      } else {
        expect(read(repo, "params.txt")).toBe("rewritten by the job\n");
        expect(json.kept.map((x) => x.path)).toEqual(["params.txt"]);
      }
    }
  }, 120_000);

  test("a committed symlink the job appended through stays a symlink; its target gets its bytes back", async () => {
    const repo = tempRepo({ "append.py": APPEND_PY });
    mkdirSync(join(repo, "data"));
    writeFileSync(join(repo, "data/target.txt"), "committed\n");
    symlinkSync("data/target.txt", join(repo, "link.txt"));
    commitAll(repo, "a symlink");
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo, "roar init");
    await run(repo, ["python3", "append.py", "link.txt"]);
    expect(read(repo, "data/target.txt")).toBe("committed\nappended by the job\n");
    const { json } = await pop(repo);
    expect(json.deleted).toEqual([]);
    expect(lstatSync(join(repo, "link.txt")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(repo, "link.txt"))).toBe("data/target.txt");
    expect(read(repo, "data/target.txt")).toBe("committed\n");
  }, 60_000);

  test("a file the job deleted comes back with reversible.enabled", async () => {
    const repo = await project({ ".gitignore": ".test-home/\ncache.bin\n" }, true);
    writeFileSync(join(repo, "cache.bin"), "expensive to rebuild\n");
    await run(repo, ["python3", "delete.py", "cache.bin"]);
    expect(existsSync(join(repo, "cache.bin"))).toBe(false);
    const { json } = await pop(repo);
    expect(read(repo, "cache.bin")).toBe("expensive to rebuild\n");
    expect(json.restored.map((x) => x.path)).toEqual(["cache.bin"]);
  }, 60_000);

  test("a file replaced by a rename (atomic save) is restored; the job's temporary file leaves no trace", async () => {
    const repo = await project({ ".gitignore": ".test-home/\nresults.csv\n" }, true);
    writeFileSync(join(repo, "results.csv"), "a,b\n1,2\n");
    await run(repo, ["sh", "-c", "echo 'a,b' > results.tmp && mv results.tmp results.csv"]);
    const { json } = await pop(repo);
    expect(read(repo, "results.csv")).toBe("a,b\n1,2\n");
    expect(json.restored.map((x) => x.path)).toEqual(["results.csv"]);
    expect(json.deleted).toEqual([]);
  }, 60_000);
});
