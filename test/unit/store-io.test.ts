import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { openTempStore, testJob } from "../helpers/store.ts";

const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const job = (sessionId: number, step: number, tag: string) =>
  testJob(sessionId, tag, {
    step,
    inputs: [{ path: `in-${tag}`, blake3: digest(`in-${tag}`), size: 1, flags: 0 }],
    outputs: [{ path: `out-${tag}`, blake3: digest(`out-${tag}`), size: 2, flags: 0 }],
  });

function sorted(map: Map<string, { inputs: { path: string }[]; outputs: { path: string }[] }>) {
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
