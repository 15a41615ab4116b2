/**
 * Terminal control sequences in argv and file names: every human-readable output shows them as visible escapes
 * (no raw ESC, BEL, newline or C1 byte reaches the terminal, `roar log` keeps one row per job), while `--json`
 * keeps the exact strings.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

/** Sets the terminal title (OSC 0), clears the screen, then a C1 CSI (U+009B) and a bidi override (U+202E). */
const EVIL_NAME = "evil\x1b]0;pwned\x07\x1b[2J\u009b2J\u202etxt.txt";
const NEWLINE_ARG = "line1\nline2\tend";

/** Any control character except the newlines that separate output lines. */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe.skipIf(!tracerAvailable)("control characters in argv and file names", () => {
  test("text output escapes them visibly, log rows stay one line, --json is exact", async () => {
    const repo = tempRepo({ "mk.py": 'import sys\nopen(sys.argv[1], "w").write(sys.argv[2])\n' });
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo);
    const run = await roar(["run", "python3", "mk.py", EVIL_NAME, NEWLINE_ARG], { cwd: repo });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    expect(run.stderr).toContain("evil\\x1b]0;pwned\\x07\\x1b[2J\\u009b2J\\u202etxt.txt");
    expect((await roar(["run", "-q", "python3", "mk.py", "plain.txt", "x"], { cwd: repo })).code).toBe(0);
    const digest = b3sum(join(repo, EVIL_NAME)).slice(0, 16);

    for (const args of [
      ["log"],
      ["dag"],
      ["dag", "--expanded", "--show-artifacts"],
      ["show", "@1"],
      ["show"],
      ["show", digest],
      ["lineage", digest],
      ["status", "--all"],
      ["reproduce", digest],
    ]) {
      const r = await roar(args, { cwd: repo });
      expect(r.code).toBe(0);
      if (RAW_CONTROL.test(r.stdout + r.stderr)) {
        throw new Error(`roar ${args.join(" ")} printed a raw control character:\n${JSON.stringify(r.stdout)}`);
      }
    }

    const log = await roar(["log"], { cwd: repo, env: { COLUMNS: "300" } });
    const rows = log.stdout.split("\n").filter((l) => /^[0-9a-f]{8} /.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain("'evil\\x1b]0;pwned\\x07");
    expect(rows[1]).toContain("'line1\\nline2\\tend'");
    const show = await roar(["show", "@1"], { cwd: repo });
    expect(show.stdout).toContain("  evil\\x1b]0;pwned\\x07\\x1b[2J\\u009b2J\\u202etxt.txt\n");
    const dag = await roar(["dag"], { cwd: repo });
    expect(dag.stdout).toContain("(evil\\x1b]0;pwned\\x07");

    // An error that lists file names (the dirty-tree refusal) escapes them too.
    // (content no job wrote: an untracked copy of a recorded output would not count as a change)
    writeFileSync(join(repo, EVIL_NAME.replace("evil", "untracked")), "the user's own file\n");
    const refused = await roar(["run", "true"], { cwd: repo });
    expect(refused.code).toBe(125);
    expect(refused.stderr).toContain("untracked\\x1b]0;pwned\\x07");
    expect(refused.stderr).not.toMatch(RAW_CONTROL);

    // JSON keeps the exact strings.
    const logJson = JSON.parse((await roar(["log", "--json"], { cwd: repo })).stdout) as {
      jobs: { command: string[] }[];
    };
    expect(logJson.jobs[1]?.command).toEqual(["python3", "mk.py", EVIL_NAME, NEWLINE_ARG]);
    const showJson = JSON.parse((await roar(["show", "@1", "--json"], { cwd: repo })).stdout) as {
      outputs: { path: string }[];
    };
    expect(showJson.outputs.map((o) => o.path)).toEqual([EVIL_NAME]);
    const dagJson = JSON.parse((await roar(["dag", "--json"], { cwd: repo })).stdout) as {
      nodes: { argv: string[] }[];
    };
    expect(dagJson.nodes[0]?.argv).toEqual(["python3", "mk.py", EVIL_NAME, NEWLINE_ARG]);
  }, 60_000);
});
