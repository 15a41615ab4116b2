import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { dirname } from "node:path";
import type { IoRecord, NewJob } from "../../src/core/types.ts";
import { inDigestOrder } from "../../src/store/artifacts.ts";
import { openDatabase } from "../../src/store/db.ts";
import { STEP_OF_IDENTITY } from "../../src/store/jobs.ts";
import { projectAt } from "../../src/store/project.ts";
import { RoarStore } from "../../src/store/store.ts";
import { openTempStore, testJob } from "../helpers/store.ts";

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const job = (sessionId: number, step: number, tag: string) =>
  testJob(sessionId, tag, {
    step,
    inputs: [{ path: `in-${tag}`, blake3: digest(`in-${tag}`), size: 1, flags: 0 }],
    outputs: [{ path: `out-${tag}`, blake3: digest(`out-${tag}`), size: 2, flags: 0 }],
  });

function sorted(map: Map<string, { inputs: readonly { path: string }[]; outputs: readonly { path: string }[] }>) {
  return [...map]
    .map(([uid, io]) => [uid, io.inputs.map((i) => i.path).sort(), io.outputs.map((o) => o.path).sort()])
    .sort();
}

test("session I/O is the same whether read by a scan (big session) or by index (small one)", () => {
  const { store } = openTempStore();
  const small = store.startSession().id;
  store.insertJob(job(small, 1, "a"));
  const big = store.startSession().id;
  for (let i = 0; i < 5; i++) store.insertJob(job(big, i + 1, `b${i}`));
  for (const session of [small, big]) {
    const fast = store.sessionIoUnordered(session);
    expect(sorted(fast)).toEqual(sorted(store.sessionIo(session)));
    expect(fast.size).toBe(session === small ? 1 : 5);
  }
  store.close();
});

test("a new store has 16 KiB pages (big jobs' index entries); WAL mode", () => {
  const { store, dbPath } = openTempStore();
  store.close();
  const db = new Database(dbPath, { readonly: true });
  expect((db.query("PRAGMA page_size").get() as { page_size: number }).page_size).toBe(16384);
  expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
  db.close();
});

test("artifact rows are written in digest order: a permutation of the rows, ordered by their digest's first 32 bits", () => {
  const hex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  const rows = Array.from({ length: 5000 }, (_, i) => [hex(), i, 0, `f${i}`]);
  rows.push([`${"0".repeat(8)}${hex().slice(8)}`, -1, 0, "low"], [`${"f".repeat(8)}${hex().slice(8)}`, -2, 0, "high"]);
  const ordered = inDigestOrder(rows);
  expect(new Set(ordered)).toEqual(new Set(rows));
  expect(ordered).toHaveLength(rows.length);
  const prefix = (row: readonly unknown[]) => (row[0] as string).slice(0, 8);
  for (let i = 1; i < ordered.length; i++)
    expect(prefix(ordered[i - 1] as unknown[]) <= prefix(ordered[i] as unknown[])).toBe(true);
  expect(ordered[0]?.[3]).toBe("low");
  expect(ordered.at(-1)?.[3]).toBe("high");
  expect(inDigestOrder([])).toEqual([]);
});

test("known artifacts are the same whether the table is scanned (most of it asked) or searched (a few asked)", () => {
  const { store } = openTempStore();
  const session = store.startSession().id;
  for (let i = 0; i < 40; i++) store.insertJob(job(session, i + 1, `k${i}`));
  // 80 artifacts: asking about 3 searches (80 > 4 × 3); asking about 30 scans.
  const few = [digest("in-k1"), digest("out-k7"), digest("not recorded")];
  expect(new Set(store.knownArtifacts(few).present)).toEqual(new Set([digest("in-k1"), digest("out-k7")]));
  const many = Array.from({ length: 30 }, (_, i) => digest(i % 2 ? `out-k${i}` : `missing-${i}`));
  const found = store.knownArtifacts(many);
  expect(new Set(found.present)).toEqual(new Set(many.filter((_, i) => i % 2 === 1)));
  expect(found.version).toBe(store.knownArtifacts([]).version);
  store.close();
});

test("the hash cache's rows by inode say which contents are artifacts when asked (in the same lookup), as knownArtifacts does", () => {
  const { store } = openTempStore();
  const session = store.startSession().id;
  store.insertJob(job(session, 1, "r"));
  const cache = store.hashCache();
  const t = 1_700_000_000n * 1_000_000_000n;
  const row = (ino: bigint, blake3: string) => ({
    dev: 9n,
    ino,
    size: 1n,
    mtimeNs: t,
    ctimeNs: t,
    blake3,
    extra: {},
    hashedAtNs: t + 5_000_000_000n,
  });
  cache.putMany([row(1n, digest("in-r")), row(2n, digest("not an artifact")), row(3n, digest("out-r"))]);
  const keys = [1, 2, 3, 4].map((ino) => ({ dev: 9, ino }));
  const withFlags = cache.rowsOfInodes(keys, { artifacts: true });
  expect(withFlags.map((r) => r?.[8])).toEqual([1, 0, 1, undefined]);
  expect(cache.rowsOfInodes(keys).map((r) => r?.length)).toEqual([8, 8, 8, undefined]);
  // The same answer as the lookup by digest.
  const asked = [digest("in-r"), digest("not an artifact"), digest("out-r")];
  expect(new Set(store.knownArtifacts(asked).present)).toEqual(new Set([digest("in-r"), digest("out-r")]));
  store.close();
});

test("a job whose io rows fail part-way leaves nothing behind: no job, no io rows, no artifacts (OR FAIL + transaction)", () => {
  const { store, dbPath } = openTempStore();
  const session = store.startSession().id;
  store.insertJob(job(session, 1, "kept"));
  // Enough rows for the multi-row statements, with one bad row (flags NULL breaks NOT NULL) late in the list.
  const inputs = Array.from({ length: 300 }, (_, i) => ({
    path: `in-${i}`,
    blake3: digest(`in-${i}`),
    size: 1,
    flags: 0,
  }));
  (inputs[250] as { flags: number | null }).flags = null;
  const bad = testJob(session, "bad", { step: 2, inputs, outputs: [] });
  expect(() => store.insertJob(bad)).toThrow(/NOT NULL/);
  expect(store.sessionJobSummaries(session).map((j) => j.step)).toEqual([1]);
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const count = (table: string) => (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  expect(count("jobs")).toBe(1);
  expect(count("output_set_rows") + count("input_set_rows")).toBe(2);
  expect(count("input_sets") + count("output_sets")).toBe(2);
  expect(count("artifacts")).toBe(2);
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  db.close();
});

test("connections keep statement journals and temporary b-trees in memory (temp_store = MEMORY)", () => {
  const { store, dbPath } = openTempStore();
  store.close();
  const { db } = openDatabase(dbPath);
  expect((db.query("PRAGMA temp_store").get() as { temp_store: number }).temp_store).toBe(2);
  db.close();
});

test("a known artifact still gets the extra digests a job brings; known ones without are not written again", () => {
  const { store } = openTempStore();
  const session = store.startSession().id;
  const content = digest("shared content");
  store.insertJob(
    testJob(session, "first", { step: 1, inputs: [{ path: "a", blake3: content, size: 3, flags: 0 }], outputs: [] }),
  );
  expect(store.artifact(content)?.digests).toEqual({});
  // The next job names the same content at two paths, known to be there, once with a sha256 of it.
  const known = { ...store.knownArtifacts([content]), digests: new Set([content]) };
  const sha = digest("its sha256");
  store.insertJob(
    testJob(session, "second", {
      step: 2,
      inputs: [
        { path: "a", blake3: content, size: 3, flags: 0 },
        { path: "b", blake3: content, size: 3, flags: 0, digests: { sha256: sha } },
      ],
      outputs: [],
    }),
    undefined,
    known,
  );
  expect(store.artifact(content)?.digests).toEqual({ sha256: sha });
  expect(store.artifact(content)?.firstSeenPath).toBe("a");
  store.close();
});

test("a job's step is its identity's earlier step, else the next one, found by index as the session grows", () => {
  const { store, dbPath } = openTempStore();
  const session = store.startSession().id;
  const record = (tag: string) => {
    const { step: _unassigned, ...job } = testJob(session, tag, { stepIdentity: `id-${tag}` });
    return store.insertJob(job).step;
  };
  // 300 jobs of three identities, recorded in turn: each keeps the step its identity got first.
  const steps = Array.from({ length: 300 }, (_, i) => record(["prep", "train", "eval"][i % 3] as string));
  expect(steps.slice(0, 6)).toEqual([1, 2, 3, 1, 2, 3]);
  expect(new Set(steps.slice(3))).toEqual(new Set([1, 2, 3]));
  expect(steps.every((s, i) => s === (i % 3) + 1)).toBe(true);
  expect(record("new")).toBe(4);
  store.close();
  // By the (session, identity, seq) index (migration 8): no pass over the session's jobs, no sort.
  const db = new Database(dbPath, { readonly: true });
  const plan = (db.query(`EXPLAIN QUERY PLAN ${STEP_OF_IDENTITY}`).all(1, "id-train") as { detail: string }[]).map(
    (r) => r.detail,
  );
  expect(plan).toEqual(["SEARCH jobs USING INDEX jobs_session_identity (session_id=? AND step_identity=?)"]);
  db.close();
});

test("jobs share an io set exactly when their rows are the same, in the same order (keys over columns)", () => {
  const { store, dbPath } = openTempStore();
  const session = store.startSession().id;
  const row = (path: string, extra: Partial<IoRecord> = {}): IoRecord => ({
    path,
    blake3: digest(path),
    size: 10,
    flags: 0,
    ...extra,
  });
  // A name that is not UTF-8 (an escaped byte): its set is keyed by the rows' JSON, and shared all the same.
  const latin1 = `data/caf${String.fromCharCode(0xdce9)}.csv`;
  const inputs = [row("data/a.csv"), row("data/b.csv"), row(latin1)];
  const outputs = [row("out/m.bin", { prevBlake3: digest("before"), prevMode: 0o644, flags: 4 }), row("out/n.bin")];
  const variants: [string, Partial<NewJob>][] = [
    ["same", { inputs: inputs.map((r) => ({ ...r })), outputs: outputs.map((r) => ({ ...r })) }],
    ["order", { inputs: [inputs[1], inputs[0], inputs[2]] as IoRecord[], outputs }],
    ["flags", { inputs: [{ ...(inputs[0] as IoRecord), flags: 2 }, ...inputs.slice(1)], outputs }],
    ["size", { inputs: [{ ...(inputs[0] as IoRecord), size: 11 }, ...inputs.slice(1)], outputs }],
    ["no prior", { inputs, outputs: [row("out/m.bin", { flags: 4 }), row("out/n.bin")] }],
    ["prior mode", { inputs, outputs: [{ ...(outputs[0] as IoRecord), prevMode: 0o755 }, outputs[1] as IoRecord] }],
    // Path boundaries move, the concatenation does not: still another set.
    ["split", { inputs: [row("data/a.csvdata/b.csv"), row(latin1)], outputs }],
  ];
  const first = store.insertJob(testJob(session, "first", { inputs, outputs }));
  const uids = Object.fromEntries(
    variants.map(([tag, fields]) => [tag, store.insertJob(testJob(session, tag, fields)).uid]),
  );
  store.close();
  const db = new Database(dbPath, { readonly: true });
  const setsOf = (uid: string) =>
    db.query("SELECT input_set AS i, output_set AS o FROM jobs WHERE uid = ?").get(uid) as { i: number; o: number };
  const base = setsOf(first.uid);
  expect(setsOf(uids.same as string)).toEqual(base);
  for (const tag of ["order", "flags", "size", "split"]) expect(setsOf(uids[tag] as string).i).not.toBe(base.i);
  for (const tag of ["order", "flags", "size"]) expect(setsOf(uids[tag] as string).o).toBe(base.o);
  for (const tag of ["no prior", "prior mode"]) {
    expect(setsOf(uids[tag] as string).i).toBe(base.i);
    expect(setsOf(uids[tag] as string).o).not.toBe(base.o);
  }
  // Each set once: five input sets (first = same; order, flags, size, split), three output sets.
  const counts = db
    .query("SELECT (SELECT count(*) FROM input_sets) AS i, (SELECT count(*) FROM output_sets) AS o")
    .get();
  expect(counts).toEqual({ i: 5, o: 3 });
  db.close();
  // Read back as written, the non-UTF-8 name included.
  const again = RoarStore.open(projectAt(dirname(dirname(dbPath))));
  expect(
    again
      .jobIo(first.uid)
      .inputs.map((i) => i.path)
      .sort(),
  ).toEqual(inputs.map((i) => i.path).sort());
  const prior = again.jobIo(uids["prior mode"] as string).outputs.find((o) => o.path === "out/m.bin");
  expect(prior).toMatchObject({ prevBlake3: digest("before"), prevMode: 0o755 });
  again.close();
});
