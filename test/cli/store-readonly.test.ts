/**
 * A read-only `.roar/`: commands that only read work; commands that write say so in one line (run/build exit 125)
 * and change nothing. As root, permissions do not stop writes, so the store is made read-only by a read-only bind
 * mount; a second test drops to an unprivileged user for the `chmod -R a-w` case.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import {
  BUN,
  commitAll,
  hermeticEnv,
  othersCanReachCheckout,
  type RunResult,
  roar,
  roarAsNobody,
  tempRepo,
} from "../helpers/cli.ts";
import { JOB_IO_BY_UID } from "../helpers/store.ts";

const isRoot = process.getuid?.() === 0;
const tracerAvailable = autoChoice() !== null;
/** Whether an unprivileged user can run bun here (roar's sources must be readable to it). */
function probeUnprivileged(): boolean {
  try {
    const argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUN, "--version"];
    return isRoot && othersCanReachCheckout() && Bun.spawnSync(argv).exitCode === 0;
  } catch {
    return false; // no setpriv
  }
}
const canDropPrivileges = probeUnprivileged();
const mounted: string[] = [];

afterEach(() => {
  for (const dir of mounted.splice(0)) Bun.spawnSync(["umount", dir]);
});

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

/** A project with one recorded job that wrote out.txt. */
async function project(): Promise<string> {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  const r = await roar(["run", "-q", "sh", "-c", "echo hello > out.txt"], { cwd: repo });
  expect(r.code).toBe(0);
  return repo;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) out[name] = readFileSync(join(dir, name)).toString("base64");
  return out;
}

const READERS = [
  ["log"],
  ["log", "--json"],
  ["show", "@1"],
  ["show", "out.txt", "--json"],
  ["dag"],
  ["status"],
  ["status", "--json"],
  ["lineage", "out.txt"],
  ["reproduce", "out.txt"],
  ["config", "get", "tracer.default"],
  ["config", "list"],
  ["tracer", "status"],
];

function expectReadOnlyRefusal(r: RunResult, code: number): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^roar: .*read-only/);
  expect(r.stderr).not.toContain("roar init");
  expect(r.stderr).not.toContain("move it aside");
}

describe.skipIf(!isRoot || !tracerAvailable)("a read-only store", () => {
  test("read-only bind mount: reading commands work, writing ones refuse in one line and change nothing", async () => {
    const repo = await project();
    const roarDir = join(repo, ".roar");
    const before = snapshot(roarDir);
    sh(["mount", "--bind", roarDir, roarDir]);
    mounted.push(roarDir);
    sh(["mount", "-o", "remount,bind,ro", roarDir]);

    for (const args of READERS) {
      const r = await roar(args, { cwd: repo });
      if (r.code !== 0) throw new Error(`roar ${args.join(" ")} exited ${r.code} on a read-only store: ${r.stderr}`);
      expect(r.stderr).not.toContain("move it aside");
    }
    const log = JSON.parse((await roar(["log", "--json"], { cwd: repo })).stdout) as { jobs: unknown[] };
    expect(log.jobs).toHaveLength(1);

    // run/build refuse before running anything.
    for (const word of ["run", "build"]) {
      const r = await roar([word, "sh", "-c", "echo ran > marker.txt"], { cwd: repo });
      expectReadOnlyRefusal(r, 125);
      expect(existsSync(join(repo, "marker.txt"))).toBe(false);
    }
    for (const args of [
      ["pop", "-y"],
      ["reset", "-y"],
      ["config", "set", "tracer.default", "ptrace"],
      ["env", "set", "SEED", "1"],
    ]) {
      expectReadOnlyRefusal(await roar(args, { cwd: repo }), 1);
    }
    expect(readFileSync(join(repo, "out.txt"), "utf8")).toBe("hello\n"); // pop deleted nothing

    sh(["umount", roarDir]);
    mounted.pop();
    expect(snapshot(roarDir)).toEqual(before);
    // Writable again: everything works as before, with the history intact.
    expect((await roar(["run", "-q", "true"], { cwd: repo })).code).toBe(0);
    const after = JSON.parse((await roar(["log", "--json"], { cwd: repo })).stdout) as { jobs: unknown[] };
    expect(after.jobs).toHaveLength(2);
  }, 60_000);

  test("a read-only store written by an older roar (an earlier schema) is read through a migrated copy", async () => {
    const repo = await project();
    const roarDir = join(repo, ".roar");
    const { Database } = await import("bun:sqlite");
    const old = new Database(join(roarDir, "roar.db"));
    // Back to schema 1 (before migration 1 → 2): undo every later migration.
    old.exec(`DROP TABLE runs_in_flight;
      DROP INDEX jobs_session_identity;
      ${JOB_IO_BY_UID}
      ALTER TABLE job_io DROP COLUMN prev_blake3;
      ALTER TABLE job_io DROP COLUMN prev_mode;
      CREATE INDEX job_io_blake3 ON job_io(blake3, role);
      PRAGMA user_version = 1`);
    old.close();
    const before = snapshot(roarDir);
    sh(["mount", "--bind", roarDir, roarDir]);
    mounted.push(roarDir);
    sh(["mount", "-o", "remount,bind,ro", roarDir]);
    for (const args of [["log"], ["show", "out.txt"], ["status"], ["lineage", "out.txt"]]) {
      const r = await roar(args, { cwd: repo });
      if (r.code !== 0) throw new Error(`roar ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    }
    expectReadOnlyRefusal(await roar(["run", "true"], { cwd: repo }), 125);
    sh(["umount", roarDir]);
    mounted.pop();
    expect(snapshot(roarDir)).toEqual(before);
  }, 60_000);

  test.skipIf(!canDropPrivileges)(
    "chmod -R a-w for an unprivileged user: reading works, run refuses with 125",
    async () => {
      const repo = await project();
      const home = join(repo, ".test-home");
      sh(["chmod", "-R", "a+rX", repo]);
      chmodSync(home, 0o777);
      sh(["chmod", "-R", "a-w", join(repo, ".roar")]);
      const asNobody = (args: string[]): Promise<RunResult> => roarAsNobody(args, repo, hermeticEnv(home));
      try {
        for (const args of [["log"], ["show", "@1"], ["dag"], ["status"]]) {
          const r = await asNobody(args);
          if (r.code !== 0) throw new Error(`roar ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
        }
        expectReadOnlyRefusal(await asNobody(["run", "true"]), 125);
        expect(readdirSync(join(repo, ".roar")).sort()).toEqual(["config.toml", "roar.db"]);
      } finally {
        sh(["chmod", "-R", "u+w", join(repo, ".roar")]);
      }
    },
    60_000,
  );
});
