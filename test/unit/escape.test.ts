import { describe, expect, test } from "bun:test";
import { visible } from "../../src/ui/escape.ts";

describe("visible", () => {
  test("printable text, including non-ASCII and emoji, is unchanged", () => {
    for (const text of ["model.pt", "données/été.csv", "a b 'c'", "📁/💀.txt", "C:\\path"]) {
      expect(visible(text)).toBe(text);
    }
  });

  test("C0, DEL, C1, line separators and bidi controls become escapes", () => {
    expect(visible("a\nb\tc\rd")).toBe("a\\nb\\tc\\rd");
    expect(visible("\x1b]0;title\x07")).toBe("\\x1b]0;title\\x07");
    expect(visible("\x00\x7f")).toBe("\\x00\\x7f");
    expect(visible("\u009b2J\u0085")).toBe("\\u009b2J\\u0085");
    expect(visible("\u2028\u202e\u2066")).toBe("\\u2028\\u202e\\u2066");
  });

  test("a byte of a non-UTF-8 file name (surrogate escape) is shown as \\xNN", () => {
    expect(visible("f\udcff.bin")).toBe("f\\xff.bin");
  });
});
