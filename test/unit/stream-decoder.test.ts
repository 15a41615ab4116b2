import { expect, test } from "bun:test";
import { pack } from "msgpackr";
import { Value } from "typebox/value";
import { traceEventSchemas } from "../../src/schema/event-schemas.ts";
import { TRACER_ABI_VERSION } from "../../src/schema/events.ts";
import { decodeStream, headerRecord, StreamDecoder } from "../../src/trace/events.ts";

/** A stream as the tracers write it: concatenated msgpack records (encoded here by msgpackr, the reference). */
function stream(n: number): Buffer {
  const records: Buffer[] = [pack([0, 0, 0, 0, TRACER_ABI_VERSION, "test"])];
  for (let i = 0; i < n; i++) {
    const path = Buffer.from(`/data/file-${i}-${"x".repeat(i % 300)}.bin`);
    records.push(pack([5, 100 + (i % 7), i, 1_000_000_000_000 + i, path, i % 3, 3, [1, 2, 3 + i, 4, 5]]));
  }
  return Buffer.concat(records);
}

test("decoding in pieces of any size gives exactly the events of decoding the whole stream", () => {
  const bytes = stream(400);
  const whole = decodeStream(bytes);
  expect(whole.events).toHaveLength(401);
  expect(whole.truncatedTail).toBe(false);
  for (const size of [1, 3, 64, 1000, 65536]) {
    const d = new StreamDecoder();
    for (let i = 0; i < bytes.length; i += size) d.push(bytes.subarray(i, i + size));
    const parts = d.finish();
    expect(parts.events).toEqual(whole.events);
    expect(parts.truncatedTail).toBe(false);
  }
});

test("a record cut at the end is reported, not decoded; a foreign ABI version is refused", () => {
  const bytes = stream(10);
  const cut = decodeStream(bytes.subarray(0, bytes.length - 2));
  expect(cut.events).toHaveLength(10);
  expect(cut.truncatedTail).toBe(true);
  expect(() => decodeStream(pack([0, 0, 0, 0, 99, "future"]))).toThrow("ABI version 99");
});

test("a malformed record is an error that says what was wrong, never a silently shorter trace", () => {
  const header = pack([0, 0, 0, 0, TRACER_ABI_VERSION, "test"]);
  const after = (record: unknown) => Buffer.concat([header, pack(record)]);
  expect(() => decodeStream(after({ kind: 5 }))).toThrow("bad record in trace (got map)");
  expect(() => decodeStream(after([5, 1, 1, 1, Buffer.from("/a"), "r", 3, null]))).toThrow(
    "bad integer in trace (got string)",
  );
  expect(() => decodeStream(after([5, 1, 1, 1, 7, 0, 3, null]))).toThrow("bad path value in trace (got number)");
  expect(() => decodeStream(after([5, 1, 1, 1, Buffer.from("/a")]))).toThrow(
    "trace record of kind 5 has 5 fields, fewer than its 8",
  );
  expect(() => decodeStream(after([5, 1, 1, 1, Buffer.from("/a"), 0, 3, [1, 2, 3]]))).toThrow(
    "bad stat in trace (expected 5 fields)",
  );
  expect(() => decodeStream(after([99, 1, 1, 1]))).toThrow("unknown trace record kind 99");
});

test("every record kind decodes to its typed event (bytes from msgpackr, the reference encoder)", () => {
  const nsTime = 1_795_697_073_321_122_300n; // above 2^53: written as uint64 by the tracers
  const records: unknown[][] = [
    [0, 0, 0, 0, TRACER_ABI_VERSION, "preload"],
    [1, 7, 1, 10, 1, Buffer.from("/usr/bin/tar"), [Buffer.from("tar"), Buffer.from("cf")], Buffer.from("/w")],
    [2, 7, 2, 11, 8, 1],
    [3, 8, 0, 12, Buffer.from("/bin/sh"), [Buffer.from("sh"), Buffer.from("-c")], 3],
    [4, 8, 1, 13, null, 9],
    [4, 7, 3, 14, 0, null],
    [5, 7, 4, 15, Buffer.from("/w/a b\nc"), 0o2410000, 6, [65024, 4_116_162, 7, nsTime, nsTime]],
    [5, 7, 5, 16, Buffer.from([0x2f, 0x78, 0xff, 0xfe]), 577, -1, null],
    [6, 7, 6, 17, Buffer.from("/w/t.tmp"), Buffer.from("/w/t")],
    [7, 7, 7, 18, Buffer.from("/w/x"), Buffer.from("/w/y"), 1],
    [8, 7, 8, 19, Buffer.from("/w/d"), 1],
    [9, 7, 9, 20, Buffer.from("/w/t")],
    [10, 7, 10, 21, Buffer.from("/w/sub")],
    [11, 7, 11, 22, "static_binary", Buffer.from("/w/static")],
    [12, 7, 12, 23, 3],
    [5, 7, 13, 24, Buffer.from("/w/newer"), 0, 3, null, "a field from a newer writer"],
    [13, 7, 14, 25, Buffer.from("/w/e.txt"), [65024, 99, 5, nsTime, nsTime], 0o100644, Buffer.from("0123456789abcdef")],
    [13, 7, 15, 26, Buffer.from("/w/big.bin"), [65024, 98, 1 << 30, 1, 2], 0o100600, null],
  ];
  const bytes = Buffer.concat(records.map((r) => pack(r)));
  const { events } = decodeStream(bytes);
  // Every event fits the declared schema (the types roar's code is checked against).
  const schema = traceEventSchemas().TraceEvent;
  for (const e of events) expect(Value.Check(schema, e)).toBe(true);
  expect(events.map((e) => e.kind)).toEqual([
    "header",
    "proc_start",
    "fork",
    "exec",
    "exit",
    "exit",
    "open",
    "open",
    "rename",
    "link",
    "unlink",
    "truncate",
    "chdir",
    "incomplete",
    "dropped",
    "open",
    "prewrite",
    "prewrite",
  ]);
  expect(events[1]).toEqual({
    kind: "proc_start",
    pid: 7,
    seq: 1,
    ts: 10,
    ppid: 1,
    exe: "/usr/bin/tar",
    argv: ["tar", "cf"],
    cwd: "/w",
  });
  expect(events[4]).toMatchObject({ kind: "exit", code: null, signal: 9 });
  expect(events[6]).toEqual({
    kind: "open",
    pid: 7,
    seq: 4,
    ts: 15,
    path: "/w/a b\nc",
    flags: 0o2410000,
    fd: 6,
    stat: { dev: 65024, ino: 4_116_162, size: 7, mtimeNs: Number(nsTime), ctimeNs: Number(nsTime) },
  });
  // invalid UTF-8 survives as surrogate escapes
  expect(events[7]).toMatchObject({ path: "/x\udcff\udcfe", fd: -1, stat: null });
  expect(events[13]).toMatchObject({ reason: "static_binary", detail: "/w/static" });
  expect(events[15]).toMatchObject({ kind: "open", path: "/w/newer" });
  expect(events[16]).toEqual({
    kind: "prewrite",
    pid: 7,
    seq: 14,
    ts: 25,
    path: "/w/e.txt",
    stat: { dev: 65024, ino: 99, size: 5, mtimeNs: Number(nsTime), ctimeNs: Number(nsTime) },
    mode: 0o100644,
    copy: "0123456789abcdef",
  });
  expect(events[17]).toMatchObject({ kind: "prewrite", path: "/w/big.bin", copy: null });
});

test("the header record roar writes itself is byte for byte what msgpackr encodes", () => {
  expect([...headerRecord("preload")]).toEqual([...pack([0, 0, 0, 0, TRACER_ABI_VERSION, "preload"])]);
  expect(decodeStream(headerRecord("preload")).events).toEqual([
    { kind: "header", pid: 0, seq: 0, ts: 0, abi: TRACER_ABI_VERSION, backend: "preload" },
  ]);
});
