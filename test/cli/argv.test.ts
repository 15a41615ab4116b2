/**
 * The user's command line: a huge argv is parsed in linear time and recorded exactly; a missing command is one
 * usage line (exit 2); roar's own failures of `roar run` / `roar build` exit 125.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;

async function initRepo(): Promise<string> {
  const repo = tempRepo({ "argv.py": "import sys, json\nopen('argv.json', 'w').write(json.dumps(sys.argv[1:]))\n" });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  return repo;
}

describe("roar run: the command line", () => {
  test.skipIf(!tracerAvailable)(
    "25,000 arguments: completes, the command gets them and roar records them exactly",
    async () => {
      const repo = await initRepo();
      // Tokens that look like roar's own options belong to the command once it has started.
      const args = [
        "--tracer",
        "ptrace",
        "-q",
        "",
        "two words",
        "é ✓",
        "--",
        ...Array.from({ length: 25_000 }, (_, i) => `a${i}`),
      ];
      // Clipanion's parser was quadratic in the argument count (12k arguments: 27 s, 1.4 GB): a generous bound only.
      const r = await roar(["run", "python3", "argv.py", ...args], { cwd: repo, timeoutMs: 30_000 });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(JSON.parse(readFileSync(join(repo, "argv.json"), "utf8"))).toEqual(args);
      const shown = await roarJson<{ command: string[] }>(["show", "@1", "--json"], { cwd: repo });
      expect(shown.command).toEqual(["python3", "argv.py", ...args]);
    },
    60_000,
  );

  test("no command: one usage line on stderr, exit 2, for run and build", async () => {
    const repo = await initRepo();
    for (const word of ["run", "build"]) {
      for (const rest of [[], ["--"], [""], ["--", ""], ["-q"], ["-q", "--"], ["--tracer", "ptrace"]]) {
        const r = await roar([word, ...rest], { cwd: repo });
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(`roar: no command given — usage: roar ${word} [options] <command> [args...]\n`);
      }
    }
    // Nothing was recorded.
    const log = await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: repo });
    expect(log.jobs).toHaveLength(0);
  });

  test("roar's own failures exit 125 with one line: not initialised, bad flag, unknown tracer", async () => {
    const outside = tempDir();
    let r = await roar(["run", "true"], { cwd: outside });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("roar: roar is not initialized here — run 'roar init'\n");
    r = await roar(["build", "true"], { cwd: outside });
    expect(r.code).toBe(125);

    const repo = await initRepo();
    r = await roar(["run", "--bogus", "true"], { cwd: repo });
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    r = await roar(["run", "--tracer", "bogus", "true"], { cwd: repo });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("unknown tracer 'bogus'");
  });
});
