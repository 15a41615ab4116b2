/**
 * Inputs are identified as the job opened them (src/run/early-identities.ts): a file the job only read, that the
 * hash cache vouches for as the tracer saw it opened, is recorded with that content even when something outside
 * the job changes it before the job ends, and marked as changed during the run. So is a small file the cache
 * knows nothing of, hashed while the job ran with the identity it was opened with. A big one, left to be hashed
 * after the job, is left out when it changed meanwhile (its content at the open is unknown). The digests vouched
 * for are looked up among the store's artifacts as the job runs (recording then skips rows already there): one
 * another roar deletes meanwhile is written again. Under every backend.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

/** Reads both files, says so, and waits for the test's word before it ends. */
const READ_THEN_WAIT = `import os, time
for name in ("known.txt", "fresh.txt"):
    open(name, "rb").read()
open("ready", "w").close()
while not os.path.exists("go"):
    time.sleep(0.01)
`;

/**
 * Reads three files, says so, and waits for the test's word, opening its own script meanwhile: the preload
 * library sends its records when a new one finds them 250 ms old, so roar sees the reads while the job waits.
 */
const READ_THREE_THEN_WAIT = `import os, time
for name in ("known.txt", "small.txt", "big.txt"):
    open(name, "rb").read()
open("ready", "w").close()
while not os.path.exists("go"):
    open("job.py", "rb").close()
    time.sleep(0.01)
`;

interface Io {
  path: string;
  blake3: string | null;
  changedDuringRun?: boolean;
}

/** Past the racy window, a first run hashes known.txt: the cache keeps its digest (see hash/cache.ts). */
async function cacheKnown(repo: string, tracer: string): Promise<void> {
  await Bun.sleep(1100);
  const first = await roar(["run", "-q", "--tracer", tracer, "cat", "known.txt"], { cwd: repo });
  if (first.code !== 0) throw new Error(`roar run exited ${first.code}: ${first.stderr}`);
}

/** Starts `roar run … python3 job.py` and waits for the job's `ready`; it ends once the test writes `go`. */
async function startWaitingJob(repo: string, runArgs: string[]) {
  let ended = false;
  const running = roar(["run", ...runArgs, "python3", "job.py"], { cwd: repo }).finally(() => {
    ended = true;
  });
  while (!existsSync(join(repo, "ready")) && !ended) await Bun.sleep(10);
  return {
    ended: () => ended,
    finish: async () => {
      writeFileSync(join(repo, "go"), "");
      const r = await running;
      if (r.code !== 0) throw new Error(`roar run exited ${r.code}: ${r.stderr}`);
      return r;
    },
  };
}

describe.skipIf(!tracerAvailable)("inputs as the job opened them", () => {
  for (const tracer of ["hybrid", "preload", "ptrace"]) {
    test(`${tracer}: inputs changed after the open: a cached or a small one keeps the content read, marked; a big uncached one is left out`, async () => {
      const repo = tempRepo({
        "known.txt": "known, as read\n",
        "small.txt": "small, as read\n",
        "big.txt": "b".repeat(2 * 1024 * 1024),
        "job.py": READ_THREE_THEN_WAIT,
      });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "roar init");
      const asRead = { known: b3sum(join(repo, "known.txt")), small: b3sum(join(repo, "small.txt")) };
      // small.txt, as old as known.txt, gets its cache row when hashed while the job runs.
      await cacheKnown(repo, tracer);
      const job = await startWaitingJob(repo, ["--json", "--tracer", tracer]);
      // small.txt hashed while the job runs: its cache row appears (the store is read as roar writes it).
      const smallInode = statSync(join(repo, "small.txt")).ino;
      const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
      const hashedSmall = () => db.query("SELECT 1 FROM hash_cache WHERE ino = ?").get(smallInode) !== null;
      const deadline = Date.now() + 30_000;
      while (!hashedSmall() && !job.ended() && Date.now() < deadline) await Bun.sleep(10);
      db.close();
      expect(job.ended()).toBe(false);
      // All change after the job read them, by a process roar does not trace (same sizes, new bytes).
      writeFileSync(join(repo, "known.txt"), "KNOWN, AS READ\n");
      writeFileSync(join(repo, "small.txt"), "SMALL, AS READ\n");
      writeFileSync(join(repo, "big.txt"), "B".repeat(2 * 1024 * 1024));
      const r = await job.finish();
      const recorded = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{"schemaVersion"'))) as { inputs: Io[] };
      const input = (path: string) => recorded.inputs.find((i) => i.path === path);
      expect(input("known.txt")).toMatchObject({ blake3: asRead.known, changedDuringRun: true });
      expect(input("small.txt")).toMatchObject({ blake3: asRead.small, changedDuringRun: true });
      expect(b3sum(join(repo, "small.txt"))).not.toBe(asRead.small);
      expect(input("big.txt")).toBeUndefined();
    }, 120_000);

    // The artifacts a job reads are known to be there either by asking the store as their opens are looked up
    // (the first run was another step), or from the same step's last input set (a re-run): either way, one that
    // another roar deletes meanwhile is written again (the store's data_version tells).
    for (const first of ["another step", "the same step"])
      test(`${tracer}: an input's artifact deleted by another roar while the job ran is recorded again (first run: ${first})`, async () => {
        const repo = tempRepo({
          "known.txt": "known\n",
          // Read many times: the preload writes its records in buffers, and the open must reach roar while the job
          // still runs.
          "job.py": READ_THEN_WAIT.replace('("known.txt", "fresh.txt")', '["known.txt"] * 3000'),
          // The job's signal files: a first run starts with one there.
          ".gitignore": ".test-home/\nready\ngo\n",
        });
        await roar(["init", "-y"], { cwd: repo });
        commitAll(repo, "roar init");
        const digest = b3sum(join(repo, "known.txt"));
        if (first === "another step")
          await cacheKnown(repo, tracer); // its digest is vouched for at the next open
        else {
          await Bun.sleep(1100); // past the racy window: the first run's cache row vouches at the next open
          writeFileSync(join(repo, "go"), "");
          const r = await roar(["run", "-q", "--tracer", tracer, "python3", "job.py"], { cwd: repo });
          expect(r.code).toBe(0);
          for (const name of ["go", "ready"]) rmSync(join(repo, name));
        }
        const job = await startWaitingJob(repo, ["-q", "--tracer", tracer]);
        await Bun.sleep(300); // the open is looked up (hybrid, preload: as the job runs)
        // What another roar's `pop` of the only job that used the content does: the job, its input set (no other job
        // names it), then the artifact.
        const other = new Database(join(repo, ".roar/roar.db"));
        other.exec("PRAGMA busy_timeout = 5000");
        other.transaction(() => {
          const users = "SELECT seq FROM jobs WHERE input_set IN (SELECT set_id FROM input_set_rows WHERE blake3 = ?)";
          other.query(`DELETE FROM jobs WHERE seq IN (${users})`).run(digest);
          for (const role of ["input", "output"]) {
            const named = `SELECT ${role}_set FROM jobs WHERE ${role}_set IS NOT NULL`;
            other.query(`DELETE FROM ${role}_set_rows WHERE set_id NOT IN (${named})`).run();
            other.query(`DELETE FROM ${role}_sets WHERE id NOT IN (${named})`).run();
          }
          other.query("DELETE FROM artifacts WHERE blake3 = ?").run(digest);
        })();
        other.close();
        await job.finish();

        const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
        const inputs = db
          .query(
            `SELECT path, blake3 FROM input_set_rows
           WHERE set_id = (SELECT input_set FROM jobs WHERE seq = (SELECT max(seq) FROM jobs))`,
          )
          .all();
        expect(inputs).toEqual([{ path: "known.txt", blake3: digest }]);
        expect(db.query("SELECT blake3 FROM artifacts WHERE blake3 = ?").all(digest)).toEqual([{ blake3: digest }]);
        expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
        db.close();
      }, 120_000);
  }

  test("the same step again with one input edited: a new input set, the new content's artifact written, the rest known", async () => {
    const repo = tempRepo({
      "job.py": "import glob\nfor name in sorted(glob.glob('data/*.txt')): open(name, 'rb').read()\n",
      ".gitignore": ".test-home/\ndata/\n",
    });
    mkdirSync(join(repo, "data"));
    for (const name of ["a", "b", "c"]) writeFileSync(join(repo, `data/${name}.txt`), `${name} as it was\n`);
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "roar init");
    await Bun.sleep(1100); // past the racy window: the cache vouches for a and b at the next opens
    expect((await roar(["run", "-q", "python3", "job.py"], { cwd: repo })).code).toBe(0);
    writeFileSync(join(repo, "data/c.txt"), "c edited\n");
    expect((await roar(["run", "-q", "python3", "job.py"], { cwd: repo })).code).toBe(0);
    const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
    const sets = db.query("SELECT step, input_set FROM jobs ORDER BY seq").all() as {
      step: number;
      input_set: number;
    }[];
    expect(sets.map((j) => j.step)).toEqual([1, 1]);
    expect(sets[0]?.input_set).not.toBe(sets[1]?.input_set);
    const rows = db
      .query("SELECT path, blake3 FROM input_set_rows WHERE set_id = ? ORDER BY path")
      .all(sets[1]?.input_set ?? -1) as { path: string; blake3: string }[];
    expect(rows).toEqual(
      ["a", "b", "c"].map((n) => ({ path: `data/${n}.txt`, blake3: b3sum(join(repo, `data/${n}.txt`)) })),
    );
    for (const { blake3 } of rows)
      expect(db.query("SELECT count(*) AS n FROM artifacts WHERE blake3 = ?").get(blake3)).toEqual({ n: 1 });
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    db.close();
  }, 60_000);
});
