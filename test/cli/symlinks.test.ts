/**
 * Symbolic links a job makes are outputs of their own: recorded as links (path → target, identified by the
 * target text), never followed and never taken for deleted files — whether dangling, relative or absolute, made
 * by ln, by Python or renamed into place — on every backend; `show` prints them as links, `status` and
 * `reproduce --run` compare them as links.
 */
import { describe, expect, test } from "bun:test";
import { readlinkSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { IoFlags } from "../../src/core/io-flags.ts";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum, b3sumOf } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

async function runJson(repo: string, tracer: string, argv: string[]): Promise<ShowJobJson> {
  const r = await roar(["run", "--json", "--tracer", tracer, ...argv], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar run exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ShowJobJson;
}

const LINKS = `import os
os.symlink("data.txt", "py-rel")
os.symlink("no/such/file", "py-dangling")
os.symlink("data.txt", "tmp-link")
os.replace("tmp-link", "renamed-link")
`;

describe.skipIf(!tracerAvailable)("symbolic links a job makes", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: recorded as links with their targets, none as deleted`, async () => {
      const repo = tempRepo({ "data.txt": "content\n", "links.py": LINKS });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const job = await runJson(repo, tracer, [
        "sh",
        "-c",
        "ln -s data.txt rel && ln -s /etc/hostname abs && ln -s missing dangling && python3 links.py",
      ]);
      const outputs = Object.fromEntries(job.outputs.map((o) => [o.path, o]));
      const expected: Record<string, string> = {
        rel: "data.txt",
        abs: "/etc/hostname",
        dangling: "missing",
        "py-rel": "data.txt",
        "py-dangling": "no/such/file",
        "renamed-link": "data.txt",
      };
      expect(Object.keys(outputs).sort()).toEqual(Object.keys(expected).sort());
      for (const [path, target] of Object.entries(expected)) {
        const o = outputs[path];
        expect(readlinkSync(join(repo, path))).toBe(target);
        expect({ path, target: o?.linkTarget, symlink: o?.symlink, deleted: o?.deleted }).toEqual({
          path,
          target,
          symlink: true,
          deleted: undefined,
        });
        expect(o?.blake3).toBe(b3sumOf(target));
        expect(o?.size).toBe(Buffer.byteLength(target));
        expect((o?.flags ?? 0) & (IoFlags.SYMLINK | IoFlags.CREATED)).toBe(IoFlags.SYMLINK | IoFlags.CREATED);
      }
      // Reading through a link the job did not make is reading what it points to.
      const reader = await runJson(repo, tracer, ["sh", "-c", "cat rel > copy.txt"]);
      expect(reader.inputs.map((i) => [i.path, i.blake3])).toEqual([["rel", b3sum(join(repo, "data.txt"))]]);
      expect(reader.outputs.map((o) => [o.path, o.symlink])).toEqual([["copy.txt", undefined]]);
    }, 60_000);
  }

  test("show prints path -> target; status compares the link itself, not what it points to", async () => {
    const repo = tempRepo({ "data.txt": "content\n" });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");
    const r = await roar(["run", "ln", "-s", "missing-target", "dangling"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("dangling -> missing-target");
    expect(r.stderr).not.toContain("deleted");
    const show = await roar(["show", "@1"], { cwd: repo });
    expect(show.stdout).toContain("dangling -> missing-target");
    expect(show.stdout).toContain("symbolic link");
    const status = await roar(["status", "--json"], { cwd: repo });
    expect(JSON.parse(status.stdout).outputs).toMatchObject({ tracked: 1, present: 1, modified: 0 });
    // Pointed elsewhere, the link is modified even though its old and new targets both do not exist.
    unlinkSync(join(repo, "dangling"));
    symlinkSync("another-missing-target", join(repo, "dangling"));
    const after = await roar(["status", "--json"], { cwd: repo });
    expect(JSON.parse(after.stdout).outputs).toMatchObject({ tracked: 1, present: 0, modified: 1 });
  }, 60_000);

  test("reproduce --run compares a link as a link", async () => {
    const bare = join(tempDir("roar-bare-"), "origin.git");
    Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
    const repo = tempRepo({
      "make.py": "open('model.txt', 'w').write('m')\nimport os\nos.symlink('model.txt', 'latest')\n",
    });
    git(repo, "remote", "add", "origin", bare);
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "pipeline");
    git(repo, "push", "-q", "origin", "main");
    const run = await roar(["run", "-q", "python3", "make.py"], { cwd: repo });
    expect(run.code).toBe(0);
    const link = b3sumOf("model.txt");
    const dest = join(tempDir(), "rebuild");
    const r = await roar(["reproduce", link, "--run", "-y", "--dest", dest, "--json"], { cwd: repo });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { target: { state: string }; artifacts: { path: string; state: string }[] };
    expect(report.target.state).toBe("identical");
    expect(report.artifacts.map((a) => [a.path, a.state]).sort()).toEqual([
      ["latest", "identical"],
      ["model.txt", "identical"],
    ]);
    expect(readlinkSync(join(dest, "latest"))).toBe("model.txt");
  }, 120_000);
});
