import { expect, test } from "bun:test";
import { progressBar, progressLine } from "../../src/ui/progress.ts";

test("the progress line shows the fraction, sizes, files and rate within the width", () => {
  const line = progressLine("get", 512 * 1024 * 1024, 1024 * 1024 * 1024, { done: 1, total: 3 }, 2000, 100);
  expect(line).toContain("50%");
  expect(line).toContain("1/3 files");
  expect(line.length).toBeLessThan(100);
  expect(progressLine("put", 1000, null, { done: 0, total: 1 }, 0, 80)).not.toContain("%");
});

test("drawn only on a terminal, throttled, and erased at the end", () => {
  const written: string[] = [];
  let now = 0;
  const tty = { isTTY: true, columns: 80, write: (t: string) => written.push(t) };
  const bar = progressBar(tty, "get", 100, 1, () => now);
  bar.add(10);
  now = 50;
  bar.add(10); // within 100 ms of the last draw: not drawn
  now = 200;
  bar.add(10);
  bar.done();
  expect(written).toHaveLength(3);
  expect(written[1]).toContain("30%");
  expect(written[2]).toBe("\r\x1b[K");
  const piped: string[] = [];
  const quiet = progressBar({ isTTY: false, write: (t: string) => piped.push(t) }, "get", 100, 1);
  quiet.add(50);
  quiet.done();
  expect(piped).toEqual([]);
});
