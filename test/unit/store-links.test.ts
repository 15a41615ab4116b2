/**
 * Links between jobs and files when only outputs are indexed by digest and path (migration 5): every lookup
 * still finds inputs and outputs, in the same order, and output lookups never scan the table.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { IoRecord } from "../../src/core/types.ts";
import { projectAt } from "../../src/store/project.ts";
import { SCHEMA_VERSION } from "../../src/store/schema.ts";
import { RoarStore } from "../../src/store/store.ts";
import { JOB_IO_BY_UID, openTempStore, SETS_UNDONE, testJob } from "../helpers/store.ts";

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const file = (path: string, content: string): IoRecord => ({ path, blake3: digest(content), size: 1, flags: 0 });

/** gen writes a.txt; use reads it (and an odd name) and writes b.txt; gen again writes a.txt with other bytes. */
function pipeline(store: RoarStore) {
  const sid = store.startSession().id;
  const odd = "odd-\udcff.txt";
  const gen = store.insertJob(testJob(sid, "gen", { outputs: [file("a.txt", "one")] })).uid;
  const use = store.insertJob(
    testJob(sid, "use", {
      step: 2,
      inputs: [file("a.txt", "one"), file(odd, "odd")],
      outputs: [file("b.txt", "b"), file(odd, "odd")],
    }),
  ).uid;
  const again = store.insertJob(testJob(sid, "gen", { outputs: [file("a.txt", "two")] })).uid;
  return { gen, use, again, odd };
}

test("links by digest, by path and for many digests: inputs and outputs, in job order", () => {
  const { store } = openTempStore();
  const { gen, use, again, odd } = pipeline(store);
  expect(store.artifactLinks(digest("one")).map((l) => [l.job.uid, l.role, l.path])).toEqual([
    [gen, "output", "a.txt"],
    [use, "input", "a.txt"],
  ]);
  expect(store.linksAtPath("a.txt").map((l) => [l.jobUid, l.role, l.blake3])).toEqual([
    [again, "output", digest("two")],
    [use, "input", digest("one")],
    [gen, "output", digest("one")],
  ]);
  // A name that is not UTF-8 (stored as a BLOB), read and written by the same job: the input first.
  expect(store.linksAtPath(odd).map((l) => [l.jobUid, l.role])).toEqual([
    [use, "input"],
    [use, "output"],
  ]);
  const many = store.linksAtPaths(["a.txt", "b.txt", odd, "nowhere"]);
  expect([...many.keys()]).toEqual(["a.txt", "b.txt", odd, "nowhere"]);
  expect(many.get("a.txt")).toEqual(store.linksAtPath("a.txt"));
  expect(many.get("b.txt")?.map((l) => l.role)).toEqual(["output"]);
  expect(many.get("nowhere")).toEqual([]);
  const links = store.linksOfArtifacts([digest("one"), digest("odd")]);
  expect(links.get(digest("one"))?.map((l) => [l.jobUid, l.role])).toEqual([
    [gen, "output"],
    [use, "input"],
  ]);
  expect(
    store
      .linksOfArtifacts([digest("one")], "input")
      .get(digest("one"))
      ?.map((l) => l.jobUid),
  ).toEqual([use]);
  expect(
    store
      .linksOfArtifacts([digest("one")], "output")
      .get(digest("one"))
      ?.map((l) => l.jobUid),
  ).toEqual([gen]);
  store.close();
});

test("deleting a job drops only the artifacts no job (nor collection) refers to, inputs included", () => {
  const { store } = openTempStore();
  const { gen, again } = pipeline(store);
  store.deleteJob(again);
  expect(store.artifact(digest("two"))).toBeUndefined();
  store.deleteJob(gen);
  // "one" is still the input of `use`: it stays.
  expect(store.artifact(digest("one"))?.blake3).toBe(digest("one"));
  store.close();
});

test("output lookups by digest and by path use the outputs' indexes (no scan of the table)", () => {
  const { store, dbPath } = openTempStore();
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const plan = (sql: string) =>
    (db.query(`EXPLAIN QUERY PLAN ${sql}`).all("x") as { detail: string }[]).map((r) => r.detail).join("; ");
  // By digest: the index holds a 16-digit prefix (migration 7), which every output lookup names exactly so.
  const byDigest = "substr(io.blake3, 1, 16) = substr(?1, 1, 16) AND io.blake3 = ?1";
  expect(plan(`SELECT io.set_id FROM output_set_rows io WHERE ${byDigest}`)).toContain(
    "SEARCH io USING INDEX output_set_rows_digest (<expr>=?)",
  );
  expect(
    plan(`SELECT j.uid FROM output_set_rows io JOIN jobs j ON j.output_set = io.set_id WHERE ${byDigest}`),
  ).toMatch(
    /SEARCH io USING INDEX output_set_rows_digest \(<expr>=\?\).*SEARCH j USING INDEX jobs_output_set \(output_set=\?\)/,
  );
  expect(
    plan(`SELECT io.set_id FROM json_each(?) d JOIN output_set_rows io
          ON substr(io.blake3, 1, 16) = substr(d.value, 1, 16) AND io.blake3 = d.value`),
  ).toContain("SEARCH io USING INDEX output_set_rows_digest (<expr>=?)");
  expect(plan("SELECT set_id FROM output_set_rows WHERE path = ?")).toContain("USING INDEX output_set_rows_path");
  // A job's rows: by its sets' index.
  for (const role of ["input", "output"])
    expect(
      plan(`SELECT io.path FROM jobs j JOIN ${role}_set_rows io ON io.set_id = j.${role}_set WHERE j.uid = ?`),
    ).toContain(`USING INDEX ${role}_set_rows_set (set_id=?)`);
  db.close();
});

test("a store of schema 4 is migrated: the same links, outputs-only indexes (the digest's by prefix), rows by job seq", () => {
  const { store: fresh, dbPath } = openTempStore();
  const { gen, use } = pipeline(fresh);
  const ioBefore = fresh.jobIo(use);
  fresh.close();
  // Back to schema 4 as an older roar left it: io rows keyed by job uid, two indexes over every row.
  const old = new Database(dbPath);
  old.exec(`${JOB_IO_BY_UID}
    CREATE INDEX job_io_blake3 ON job_io(blake3, role); CREATE INDEX job_io_path ON job_io(path, role);
    DROP INDEX jobs_session_identity;
    PRAGMA user_version = 4`);
  old.close();
  expect(SCHEMA_VERSION).toBe(10);
  const store = RoarStore.open(projectAt(join(dbPath, "../..")), { create: false });
  expect(store.artifactLinks(digest("one")).map((l) => l.job.uid)).toEqual([gen, use]);
  expect(store.jobIo(use)).toEqual(ioBefore);
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const indexes = db
    .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'output_set_rows'")
    .all() as { name: string }[];
  expect(indexes.map((r) => r.name).sort()).toEqual([
    "output_set_rows_digest",
    "output_set_rows_path",
    "output_set_rows_set",
  ]);
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'job_io'").all()).toEqual([]);
  const jobIndexes = db.query(
    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL",
  );
  expect((jobIndexes.all() as { name: string }[]).map((r) => r.name).sort()).toEqual([
    "jobs_input_set",
    "jobs_output_set",
    "jobs_session_identity",
    "jobs_session_step",
  ]);
  expect((db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(10);
  db.close();
});

test("jobs that read the same content share one input set; other content, order or flags make a set of their own", () => {
  const { store, dbPath } = openTempStore();
  const sid = store.startSession().id;
  const inputs = Array.from({ length: 300 }, (_, i) => file(`in/${i}.txt`, `input ${i}`));
  const run = (name: string, read: IoRecord[]) =>
    store.insertJob(testJob(sid, name, { inputs: read, outputs: [file(`${name}.out`, name)] })).uid;
  const first = run("first", inputs);
  const again = run(
    "again",
    inputs.map((i) => ({ ...i })),
  );
  const changed = run("changed", [...inputs.slice(0, 299), file("in/299.txt", "other bytes")]);
  const reordered = run("reordered", [...inputs].reverse());
  const flagged = run("flagged", [{ ...(inputs[0] as IoRecord), flags: 1 }, ...inputs.slice(1)]);
  const none = run("none", []);
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const setOf = (uid: string) =>
    (db.query("SELECT input_set FROM jobs WHERE uid = ?").get(uid) as { input_set: number | null }).input_set;
  expect(setOf(again)).toBe(setOf(first));
  expect(new Set([first, changed, reordered, flagged].map(setOf)).size).toBe(4);
  expect(setOf(none)).toBeNull();
  const count = (sql: string) => (db.query(sql).get() as { n: number }).n;
  expect(count("SELECT count(*) AS n FROM input_sets")).toBe(4);
  expect(count("SELECT count(*) AS n FROM input_set_rows")).toBe(4 * 300);
  // Their outputs differ (each job writes its own file): a set each.
  expect(count("SELECT count(*) AS n FROM output_sets")).toBe(6);
  db.close();

  const reopened = RoarStore.open(projectAt(join(dbPath, "../..")), { create: false });
  const paths = (uid: string) => reopened.jobIo(uid).inputs.map((i) => i.path);
  expect(paths(again)).toEqual(paths(first));
  expect(paths(first)).toHaveLength(300);
  expect(reopened.jobIo(changed).inputs.find((i) => i.path === "in/299.txt")?.blake3).toBe(digest("other bytes"));
  // Links of shared inputs name every job of the set, by digest and by path.
  expect(reopened.artifactLinks(digest("input 7")).map((l) => l.job.uid)).toEqual([
    first,
    again,
    changed,
    reordered,
    flagged,
  ]);
  expect(reopened.linksAtPath("in/299.txt").map((l) => [l.jobUid, l.blake3])).toEqual([
    [flagged, digest("input 299")],
    [reordered, digest("input 299")],
    [changed, digest("other bytes")],
    [again, digest("input 299")],
    [first, digest("input 299")],
  ]);
  // dag and status read each set once: jobs of one set share its list, and `inputsOf` still limits who gets it.
  const io = reopened.sessionIoUnordered(sid);
  expect(io.get(again)?.inputs).toBe(io.get(first)?.inputs as readonly IoRecord[]);
  expect(io.get(first)?.inputs).toHaveLength(300);
  expect(io.get(none)?.inputs).toEqual([]);
  const some = reopened.sessionIoUnordered(sid, new Set([again]));
  expect(some.get(again)?.inputs).toHaveLength(300);
  expect(some.get(first)?.inputs).toEqual([]);
  expect(some.get(first)?.outputs.map((o) => o.path)).toEqual(["first.out"]);
  reopened.close();
});

test("deleting jobs keeps an input set while a job names it, then drops it with its rows and artifacts", () => {
  const { store, dbPath } = openTempStore();
  const sid = store.startSession().id;
  const read = [file("data.txt", "data"), file("more.txt", "more")];
  const a = store.insertJob(testJob(sid, "a", { inputs: read })).uid;
  const b = store.insertJob(testJob(sid, "b", { step: 2, inputs: read })).uid;
  store.deleteJob(a);
  expect(store.jobIo(b).inputs.map((i) => i.path)).toEqual(["data.txt", "more.txt"]);
  expect(store.artifact(digest("data"))?.blake3).toBe(digest("data"));
  store.deleteJob(b);
  expect(store.artifact(digest("data"))).toBeUndefined();
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const count = (table: string) => (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  expect([count("input_sets"), count("input_set_rows"), count("jobs")]).toEqual([0, 0, 0]);
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  db.close();
});

test("a store of schema 8 is migrated: each job's input and output rows become sets of its own; later runs share sets", () => {
  const { store: fresh, dbPath } = openTempStore();
  const { gen, use, again, odd } = pipeline(fresh);
  const before = [gen, use, again].map((uid) => fresh.jobIo(uid));
  const linksBefore = fresh.linksAtPaths(["a.txt", odd]);
  fresh.close();
  const old = new Database(dbPath);
  old.exec(`${SETS_UNDONE}
    PRAGMA user_version = 8`);
  const rowsOf = (role: string) =>
    (old.query("SELECT count(*) AS n FROM job_io WHERE role = ?").get(role) as { n: number }).n;
  expect([rowsOf("input"), rowsOf("output")]).toEqual([2, 4]);
  old.close();
  const store = RoarStore.open(projectAt(join(dbPath, "../..")), { create: false });
  expect([gen, use, again].map((uid) => store.jobIo(uid))).toEqual(before);
  expect(store.linksAtPaths(["a.txt", odd])).toEqual(linksBefore);
  // A new job reading what `use` read makes a set (the migrated one's key names its job) that the next one shares.
  const sid = store.job(use)?.sessionId as number;
  const read = [file("a.txt", "one"), file(odd, "odd")];
  const next = store.insertJob(testJob(sid, "next", { step: 2, inputs: read })).uid;
  const last = store.insertJob(testJob(sid, "last", { step: 2, inputs: read })).uid;
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const setOf = (uid: string) =>
    (db.query("SELECT input_set FROM jobs WHERE uid = ?").get(uid) as { input_set: number | null }).input_set;
  expect(setOf(use)).not.toBeNull();
  expect(setOf(gen)).toBeNull();
  expect(setOf(next)).not.toBe(setOf(use));
  expect(setOf(last)).toBe(setOf(next));
  expect(db.query("SELECT name FROM sqlite_master WHERE name = 'job_io'").all()).toEqual([]);
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  db.close();
});

test("jobs that write the same content share one output set: every lookup still names each job, newest first", () => {
  const { store, dbPath } = openTempStore();
  const sid = store.startSession().id;
  const model = (bytes: string): IoRecord => ({
    ...file("model.bin", bytes),
    flags: 1,
    prevBlake3: digest("v0"),
    prevMode: 0o100644,
  });
  const write = (name: string, outputs: IoRecord[]) => store.insertJob(testJob(sid, name, { outputs })).uid;
  const first = write("train", [model("v1"), file("log.txt", "log")]);
  const again = write("train", [model("v1"), file("log.txt", "log")]);
  const other = write("train", [model("v2"), file("log.txt", "log")]);
  expect(store.jobIo(again).outputs).toEqual(store.jobIo(first).outputs);
  expect(store.jobIo(first).outputs.find((o) => o.path === "model.bin")).toMatchObject({
    prevBlake3: digest("v0"),
    prevMode: 0o100644,
  });
  expect(store.linksAtPath("log.txt").map((l) => l.jobUid)).toEqual([other, again, first]);
  expect(
    store
      .linksOfArtifacts([digest("v1")], "output")
      .get(digest("v1"))
      ?.map((l) => l.jobUid),
  ).toEqual([first, again]);
  expect(store.producerUids(digest("v1"), { replayable: true })).toEqual([first, again]);
  expect(store.lastOutputDigest("model.bin", 1)).toBe(digest("v2"));
  expect(store.isRecordedOutput(digest("v2"))).toBe(true);
  expect([...store.recordedOutputsAmong(["model.bin", "log.txt", "other.txt"])].sort()).toEqual([
    "log.txt",
    "model.bin",
  ]);
  const io = store.sessionIoUnordered(sid);
  expect(io.get(again)?.outputs).toBe(io.get(first)?.outputs as readonly IoRecord[]);
  // The newest job gone: the last digest at the path is the shared set's again; the set stays while a job names it.
  store.deleteJob(other);
  expect(store.lastOutputDigest("model.bin", 1)).toBe(digest("v1"));
  expect(store.isRecordedOutput(digest("v2"))).toBe(false);
  store.deleteJob(first);
  expect(store.producerUids(digest("v1"), { replayable: false })).toEqual([again]);
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const count = (table: string) => (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  expect([count("output_sets"), count("output_set_rows")]).toEqual([1, 2]);
  db.close();
});
