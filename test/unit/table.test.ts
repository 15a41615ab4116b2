import { describe, expect, test } from "bun:test";
import { padEnd, padStart, table, truncate } from "../../src/ui/table.ts";

// "数据/文件.csv": 9 characters, 13 display columns (each CJK character takes two).
const CJK_PATH = "数据/文件.csv";

describe("text layout by display width", () => {
  test("padEnd and padStart count CJK as two columns and ANSI codes as none", () => {
    expect(padEnd(CJK_PATH, 15)).toBe(`${CJK_PATH}  `);
    expect(padStart(CJK_PATH, 15)).toBe(`  ${CJK_PATH}`);
    expect(padEnd("\x1b[31mab\x1b[0m", 4)).toBe("\x1b[31mab\x1b[0m  ");
    expect(padEnd(CJK_PATH, 10)).toBe(CJK_PATH);
  });

  test("table columns line up after a CJK path", () => {
    const lines = table([
      [CJK_PATH, "1"],
      ["data/file.csv", "2"],
    ]);
    expect(lines).toEqual([`${CJK_PATH}  1`, "data/file.csv  2"]);
    expect(lines.map((l) => Bun.stringWidth(l))).toEqual([16, 16]);
  });

  test("truncate cuts by display columns, never inside a character", () => {
    expect(truncate(CJK_PATH, 13)).toBe(CJK_PATH);
    expect(truncate(CJK_PATH, 6)).toBe("数据/…");
    // one column left for a two-column character: it is left out rather than overflow
    expect(truncate(CJK_PATH, 5)).toBe("数据…");
    expect(Bun.stringWidth(truncate(CJK_PATH, 5))).toBeLessThanOrEqual(5);
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abcdef", 1)).toBe("…");
    expect(truncate("abcdef", 0)).toBe("");
    expect(truncate("👨‍👩‍👧 family", 4)).toBe("👨‍👩‍👧 …");
  });
});
