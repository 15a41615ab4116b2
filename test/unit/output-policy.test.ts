import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FILE_DESTINATION, OutputPolicy, type OutputStream } from "../../src/ui/output-policy.ts";

function stream(isTTY: boolean, written: string[] = []): OutputStream {
  return { isTTY, columns: 80, write: (text: string) => written.push(text) };
}

function policy(o: { tty?: boolean; env?: Record<string, string>; noColor?: boolean; quiet?: boolean } = {}) {
  const err: string[] = [];
  const p = new OutputPolicy({
    stdout: stream(o.tty ?? true),
    stderr: stream(o.tty ?? true, err),
    env: o.env ?? {},
    noColor: o.noColor ?? false,
    quiet: o.quiet ?? false,
  });
  return { p, err };
}

describe("OutputPolicy", () => {
  test("colour: on a terminal (or with FORCE_COLOR), never with NO_COLOR or --no-color", () => {
    expect(policy().p.stdoutStyle.red("x")).toBe("\x1b[31mx\x1b[39m");
    expect(policy({ tty: false }).p.colorOn({ isTTY: false })).toBe(false);
    expect(policy({ tty: false, env: { FORCE_COLOR: "1" } }).p.colorOn({ isTTY: false })).toBe(true);
    expect(policy({ env: { NO_COLOR: "1", FORCE_COLOR: "1" } }).p.colorOn({ isTTY: true })).toBe(false);
    expect(policy({ noColor: true, env: { FORCE_COLOR: "1" } }).p.stderrStyle.red("x")).toBe("x");
  });

  test("JSON is indented for a terminal, compact for a pipe or a file", () => {
    const { p } = policy();
    expect(p.prettyJson({ isTTY: true })).toBe(true);
    expect(p.prettyJson({ isTTY: false })).toBe(false);
    expect(p.prettyJson(FILE_DESTINATION)).toBe(false);
  });

  test("progress is drawn on a terminal stderr unless quiet", () => {
    const loud = policy();
    expect(loud.p.showsProgress).toBe(true);
    const bar = loud.p.progress("get", 100, 1);
    bar.add(50);
    bar.done();
    expect(loud.err.join("")).toContain("50%");
    for (const silent of [policy({ quiet: true }), policy({ tty: false })]) {
      expect(silent.p.showsProgress).toBe(false);
      const quietBar = silent.p.progress("get", 100, 1);
      quietBar.add(50);
      quietBar.done();
      expect(silent.err).toEqual([]);
    }
  });
});

test("--json, -q and --no-color are declared once, in the base command (commands name them in outputOptions)", () => {
  const dir = join(import.meta.dir, "../../src/commands");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".ts") && f !== "base.ts",
  );
  const declaring = files.filter((f) =>
    /Option\.Boolean\("(--json|-q,--quiet|--no-color)"/.test(readFileSync(join(dir, f), "utf8")),
  );
  expect(declaring).toEqual([]);
});
