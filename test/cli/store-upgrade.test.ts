/**
 * A store written by an older roar is migrated when this roar first opens it. A big one takes seconds: roar says so
 * in one line on stderr (once; a read-only store, migrated in memory each time, says that), a small one silently.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";
import { SETS_UNDONE } from "../helpers/store.ts";

const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];
afterEach(() => {
  for (const dir of mounted.splice(0)) Bun.spawnSync(["umount", dir]);
});

/** A project with one recorded job, its store put back to schema 8 (job_io) and padded to `padBytes`. */
async function oldProject(padBytes: number): Promise<string> {
  const repo = tempRepo({ "in.txt": "input\n" });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  expect((await roar(["run", "-q", "sh", "-c", "cat in.txt > out.txt"], { cwd: repo })).code).toBe(0);
  const db = new Database(join(repo, ".roar/roar.db"));
  db.exec(`${SETS_UNDONE}
    PRAGMA user_version = 8`);
  // Bulk an older store would have from its history: a blob nothing links to.
  if (padBytes > 0) db.query("INSERT INTO blobs (blake3, bytes) VALUES ('pad', zeroblob(?))").run(padBytes);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return repo;
}

const NOTE =
  /^roar: upgrading \.roar\/roar\.db \(\d+ MB\) to this roar's layout \(schema 8 → \d+\): a big store takes a few seconds, once$/m;

describe("a store an older roar wrote", () => {
  test("a big one: one line says it is upgraded, the first time only; its history is intact", async () => {
    const repo = await oldProject(40 * 1024 * 1024);
    const first = await roar(["show", "@1", "--json"], { cwd: repo });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(NOTE);
    expect(first.stderr.trim().split("\n")).toHaveLength(1);
    const job = JSON.parse(first.stdout) as { inputs: { path: string }[]; outputs: { path: string }[] };
    expect(job.inputs.map((i) => i.path)).toContain("in.txt");
    expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
    const again = await roar(["show", "out.txt"], { cwd: repo });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
  }, 60_000);

  test("a small one is upgraded without a word", async () => {
    const repo = await oldProject(0);
    const r = await roar(["log"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'job_io'").all()).toEqual([]);
    db.close();
  }, 60_000);

  test.skipIf(!isRoot)(
    "a big read-only one: read through a copy in memory, and roar says so every time",
    async () => {
      const repo = await oldProject(40 * 1024 * 1024);
      const roarDir = join(repo, ".roar");
      for (const cmd of [
        ["mount", "--bind", roarDir, roarDir],
        ["mount", "-o", "remount,bind,ro", roarDir],
      ]) {
        const r = Bun.spawnSync(cmd, { stderr: "pipe" });
        if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
        if (cmd[1] === "--bind") mounted.push(roarDir);
      }
      for (let i = 0; i < 2; i++) {
        const r = await roar(["log"], { cwd: repo });
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(
          /^roar: reading \.roar\/roar\.db \(\d+ MB\), written by an older roar, through an upgraded copy in memory \(schema 8 → \d+; the store is read-only\): a few seconds each time$/m,
        );
      }
    },
    60_000,
  );
});
