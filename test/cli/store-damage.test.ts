/**
 * A damaged or full store: an empty roar.db, a directory in place of config.toml, a corrupt page, a full disk.
 * Each gets one specific line, never advice that loses data; `roar run` exits 125 and never lays a new schema
 * over an existing file.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, type RunResult, roar, tempDir, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;
const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];

afterEach(() => {
  for (const dir of mounted.splice(0)) Bun.spawnSync(["umount", "-l", dir]);
});

async function initProject(repo: string): Promise<void> {
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  const r = await roar(["run", "-q", "sh", "-c", "echo hello > out.txt"], { cwd: repo });
  expect(r.code).toBe(0);
}

function expectOneLine(r: RunResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one line, got:\n${r.stderr}`);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toContain("move it aside");
  expect(r.stderr).not.toContain("internal error");
}

async function jobCount(repo: string): Promise<number> {
  const r = await roar(["log", "--json"], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar log failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { jobs: unknown[] }).jobs.length;
}

describe.skipIf(!tracerAvailable)("a damaged store", () => {
  test("an empty roar.db: a specific message; run neither runs nor recreates it; init --force starts anew", async () => {
    const repo = tempRepo();
    await initProject(repo);
    const db = join(repo, ".roar/roar.db");
    truncateSync(db, 0);
    for (const args of [["log"], ["status"], ["dag"], ["show", "@1"], ["pop", "-y"]]) {
      expectOneLine(await roar(args, { cwd: repo }), 1, /roar\.db is empty \(0 bytes\)/);
    }
    const run = await roar(["run", "sh", "-c", "echo ran > marker.txt"], { cwd: repo });
    expectOneLine(run, 125, /roar\.db is empty \(0 bytes\)/);
    expect(existsSync(join(repo, "marker.txt"))).toBe(false);
    expect(statSync(db).size).toBe(0);

    const forced = await roar(["init", "--force", "-n"], { cwd: repo });
    expect(forced.code).toBe(0);
    expect(await jobCount(repo)).toBe(0);
  }, 60_000);

  test("a directory in place of config.toml: one line naming it, nothing removed", async () => {
    const repo = tempRepo();
    await initProject(repo);
    const config = join(repo, ".roar/config.toml");
    rmSync(config);
    mkdirSync(config);
    writeFileSync(join(config, "keep.txt"), "user data");
    for (const args of [
      ["config", "list"],
      ["config", "set", "output.quiet", "true"],
      ["env", "set", "A", "1"],
    ]) {
      expectOneLine(await roar(args, { cwd: repo }), 1, /config\.toml is a directory/);
    }
    expectOneLine(await roar(["run", "true"], { cwd: repo }), 125, /config\.toml is a directory/);
    expectOneLine(await roar(["init", "--force"], { cwd: repo }), 1, /config\.toml is not a file/);
    expect(readFileSync(join(config, "keep.txt"), "utf8")).toBe("user data");
    expect(await jobCount(repo)).toBe(1); // the database is untouched and still readable
  }, 60_000);

  test("a corrupt page: every command says the database is corrupt and leaves it byte for byte", async () => {
    const repo = tempRepo();
    await initProject(repo);
    const db = join(repo, ".roar/roar.db");
    const bytes = readFileSync(db);
    // Keep page 1 (header and schema), overwrite every table page.
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0xa5, pageSize);
    writeFileSync(db, bytes);
    for (const args of [["log"], ["status"], ["dag"], ["show", "@1"], ["pop", "-y"], ["reset", "-y"]]) {
      expectOneLine(await roar(args, { cwd: repo }), 1, /roar\.db is corrupt/);
    }
    const run = await roar(["run", "sh", "-c", "echo ran > marker.txt"], { cwd: repo });
    expectOneLine(run, 125, /roar\.db is corrupt/);
    expect(existsSync(join(repo, "marker.txt"))).toBe(false);
    expectOneLine(await roar(["init", "--force"], { cwd: repo }), 1, /roar\.db is corrupt/);
    expect(readFileSync(db)).toEqual(bytes);
  }, 60_000);
});

describe.skipIf(!tracerAvailable || !isRoot)("a full disk", () => {
  test("recording fails: exit 125, one line with the command's own exit status; the store stays usable", async () => {
    const repo = tempDir("roar-full-");
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", repo], { stderr: "pipe" });
    if (mount.exitCode !== 0) throw new Error(`mount tmpfs: ${mount.stderr.toString()}`);
    mounted.push(repo);
    git(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, ".gitignore"), ".test-home/\nfill\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "initial");
    await initProject(repo);

    // The command fills the disk, then succeeds (or fails with its own code): roar cannot store the job.
    for (const [status, said] of [
      ["0", "exited 0"],
      ["3", "exited 3"],
    ]) {
      const r = await roar(["run", "sh", "-c", `cat /dev/zero > fill 2>/dev/null; exit ${status}`], { cwd: repo });
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`roar: could not record the job (disk full); the command ${said}\n`);
      rmSync(join(repo, "fill"));
    }
    // Space again: the history is intact and recording works.
    expect(await jobCount(repo)).toBe(1);
    expect((await roar(["run", "-q", "sh", "-c", "echo again > again.txt"], { cwd: repo })).code).toBe(0);
    expect(await jobCount(repo)).toBe(2);
  }, 60_000);
});
