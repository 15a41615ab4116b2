import { expect, test } from "bun:test";
import { pack } from "msgpackr";
import { decodeStream, StreamDecoder } from "../../src/trace/events.ts";

/** A stream as the tracers write it: concatenated msgpack records (encoded here by msgpackr, the reference). */
function stream(n: number): Buffer {
  const records: Buffer[] = [pack([0, 0, 0, 0, 1, "test"])];
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
