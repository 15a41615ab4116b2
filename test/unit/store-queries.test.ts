/** The store's batched queries, its decoding of the JSON columns of old rows, and the job document built on them. */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { jobJson } from "../../src/core/job-view.ts";
import type { IoRecord, NewJob } from "../../src/core/types.ts";
import { openTempStore, testJob } from "../helpers/store.ts";

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

function job(sessionId: number, tag: string, io: { inputs?: IoRecord[]; outputs?: IoRecord[] } = {}): NewJob {
  return testJob(sessionId, tag, {
    git: { commit: "c0ffee", branch: "main", clean: true },
    trace: { backend: "ptrace", complete: true, reasons: [] },
    metadata: { env: { SEED: "1" }, packages: { pip: {} }, futureKey: { nested: [1, 2] } },
    inputs: io.inputs ?? [],
    outputs: io.outputs ?? [],
  });
}

const openStore = openTempStore;

test("digests and links of many artifacts come back for each one asked, in job order", () => {
  const { store } = openStore();
  const sid = store.startSession().id;
  const files = Array.from({ length: 1200 }, (_, i) => ({
    path: `f${i}`,
    blake3: digest(`f${i}`),
    size: i,
    flags: 0,
    digests: { sha256: digest(`sha-f${i}`) },
  }));
  const writer = store.insertJob(job(sid, "w", { outputs: files })).uid;
  const reader = store.insertJob(job(sid, "r", { inputs: files.slice(0, 3) })).uid;
  const asked = [...files.map((f) => f.blake3), digest("unknown")];
  const links = store.linksOfArtifacts(asked);
  expect(links.size).toBe(1201);
  expect(links.get(digest("unknown"))).toEqual([]);
  expect(links.get(digest("f0"))?.map((l) => [l.jobUid, l.role, l.path])).toEqual([
    [writer, "output", "f0"],
    [reader, "input", "f0"],
  ]);
  expect(links.get(digest("f1199"))?.map((l) => l.jobUid)).toEqual([writer]);
  const withIo = store.jobWithIo(reader);
  expect(withIo?.inputs.map((i) => i.digests)).toEqual(files.slice(0, 3).map((f) => f.digests));
  // A prefix of a BLAKE3 or of another digest; at most 50, in digest order.
  expect(store.artifactsByPrefix(digest("f7").slice(0, 10)).map((a) => a.firstSeenPath)).toEqual(["f7"]);
  expect(store.artifactsByPrefix(digest("sha-f7").slice(0, 10))[0]?.digests).toEqual({ sha256: digest("sha-f7") });
  const many = store.artifactsByPrefix("");
  expect(many).toHaveLength(50);
  expect(many.map((a) => a.blake3)).toEqual(
    files
      .map((f) => f.blake3)
      .sort()
      .slice(0, 50),
  );
  expect([...store.recordedOutputsAmong(["f3", "nope", "f2", "f3"])]).toEqual(["f3", "f2"]);
  expect(store.producerUids(digest("f5"), { replayable: true })).toEqual([writer]);
  expect(store.sessionJobUids(sid, "run")).toEqual([writer, reader]);
  store.close();
});

test("the JSON columns of an old or damaged row: fields of another shape are dropped, unknown keys kept", () => {
  const { store, dbPath } = openStore();
  const sid = store.startSession().id;
  const { uid } = store.insertJob(job(sid, "old"));
  const raw = new Database(dbPath);
  raw
    .query("UPDATE jobs SET git = ?, trace = ?, metadata = ? WHERE uid = ?")
    .run(
      JSON.stringify({ commit: 42, branch: "main", legacy: true }),
      "not json",
      JSON.stringify({ env: ["SEED=1"], python: { version: "3.12" }, codeFiles: "x.py", other: 1 }),
      uid,
    );
  raw.close();
  const row = store.job(uid);
  expect(row?.git).toEqual({ branch: "main", legacy: true });
  expect(row?.trace).toEqual({});
  expect(row?.metadata).toEqual({ python: { version: "3.12" }, other: 1 });
  store.close();
});

test("the job document passes unknown metadata keys through, never over its own fields", () => {
  const { store } = openStore();
  const sid = store.startSession().id;
  const { uid } = store.insertJob(job(sid, "doc"));
  const stored = store.jobWithIo(uid);
  if (!stored) throw new Error("job not recorded");
  stored.metadata = { ...stored.metadata, uid: "not-the-uid" };
  const doc = jobJson(stored, store.sessionById(sid), true) as Record<string, unknown>;
  expect(doc.futureKey).toEqual({ nested: [1, 2] });
  expect(doc.uid).toBe(uid);
  expect(doc.env).toEqual({ SEED: "1" });
  expect(Object.keys(doc).slice(-1)).toEqual(["futureKey"]);
  store.close();
});

test("recording a job keeps the store's references whole, with the per-row foreign-key checks off", () => {
  const { store, dbPath } = openStore();
  const sid = store.startSession().id;
  const outputs = [{ path: "out/a", blake3: digest("a"), size: 1, flags: 0 }];
  store.insertJob(job(sid, "w", { outputs, inputs: [{ path: "in/b", blake3: digest("b"), size: 2, flags: 0 }] }));
  // A job for a session that does not exist is refused, as the foreign key would, and nothing is written.
  expect(() => store.insertJob(job(sid + 41, "orphan", { outputs }))).toThrow(/FOREIGN KEY/);
  store.close();
  const db = new Database(dbPath, { readonly: true });
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  expect((db.query("SELECT count(*) AS n FROM jobs").get() as { n: number }).n).toBe(1);
  db.close();
});
