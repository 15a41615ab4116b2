/**
 * One output policy (src/ui/output-policy.ts): colour, JSON layout, quiet and the output options are decided once,
 * by the base command, the same way for every command.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, ROAR_BIN, roar, roarOnTerminal, tempRepo } from "../helpers/cli.ts";
import { type Fixture, fixture } from "../unit/dag-fixture.ts";

const tracerAvailable = autoChoice() !== null;
const ESC = "\x1b[";

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const f of fixtures) f.close();
});

/** gen → use, with gen re-run on other bytes: use is stale (red in the coloured view). */
function staleDag(): Fixture {
  const f = fixture();
  fixtures.push(f);
  f.job({ argv: ["python", "gen.py"], outputs: { "a.txt": "one" } });
  f.job({ argv: ["python", "use.py"], inputs: { "a.txt": "one" }, outputs: { "b.txt": "b" } });
  f.job({ argv: ["python", "gen.py"], outputs: { "a.txt": "two" } });
  return f;
}

describe("colour", () => {
  test("dag --no-color: no colour even when FORCE_COLOR asks for it, before or after the command word", async () => {
    const f = staleDag();
    const plain = await roar(["dag"], { cwd: f.root });
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain(ESC); // piped: no colour
    const forced = await roar(["dag"], { cwd: f.root, env: { FORCE_COLOR: "1" } });
    expect(forced.stdout).toContain(ESC);
    for (const args of [
      ["dag", "--no-color"],
      ["--no-color", "dag"],
    ]) {
      const r = await roar(args, { cwd: f.root, env: { FORCE_COLOR: "1" } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(plain.stdout);
    }
    const noColor = await roar(["dag"], { cwd: f.root, env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(noColor.stdout).toBe(plain.stdout);
    // On a terminal: coloured, unless --no-color.
    expect((await roarOnTerminal(["dag"], { cwd: f.root })).stdout).toContain(ESC);
    expect((await roarOnTerminal(["dag", "--no-color"], { cwd: f.root })).stdout).not.toContain(ESC);
  });
});

describe("output options declared once", () => {
  test("commands that take --json, -q and --no-color list them; a command without --json refuses it (exit 2)", async () => {
    const f = staleDag();
    for (const [command, options] of [
      [["dag"], ["--json", "--no-color"]],
      [["status"], ["--json", "--no-color"]],
      [["rerun"], ["--json", "-q,--quiet", "--no-color"]],
      [["run"], ["--json", "--json-file", "-q,--quiet", "--no-color"]],
      [["init"], ["--no-color"]],
    ] as const) {
      const help = await roar([...command, "--help"], { cwd: f.root });
      expect(help.code).toBe(0);
      for (const option of options) expect(help.stdout).toContain(option);
    }
    const init = await roar(["init", "--help"], { cwd: f.root });
    expect(init.stdout).not.toContain("--json");
    const refused = await roar(["reset", "--json"], { cwd: f.root });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--json");
  });
});

describe("JSON layout follows the stream the document goes to", () => {
  test("one compact line on a pipe, indented on a terminal", async () => {
    const f = staleDag();
    const piped = await roar(["dag", "--json"], { cwd: f.root });
    expect(piped.code).toBe(0);
    expect(piped.stdout.trimEnd().split("\n")).toHaveLength(1);
    const shown = await roarOnTerminal(["dag", "--json"], { cwd: f.root });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toStartWith('{\r\n  "schemaVersion": 1,');
    expect(JSON.parse(shown.stdout)).toEqual(JSON.parse(piped.stdout));
  });

  test.skipIf(!tracerAvailable)(
    "run --json-file: the file is compact while --json on a terminal is indented",
    async () => {
      const repo = tempRepo({ "hello.py": "open('out.txt','w').write('x')\n" });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "roar init");
      const r = await roarOnTerminal(["run", "-q", "--json", "--json-file", "job.json", "python3", "hello.py"], {
        cwd: repo,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith('{\r\n  "schemaVersion": 1,');
      const file = readFileSync(join(repo, "job.json"), "utf8");
      expect(file.trimEnd().split("\n")).toHaveLength(1);
      expect((JSON.parse(file) as { uid: string }).uid).toBe((JSON.parse(r.stdout) as { uid: string }).uid);
    },
    60_000,
  );
});

describe.skipIf(!tracerAvailable)("one quiet", () => {
  test("-q, ROAR_OUTPUT__QUIET, output.quiet and output.verbosity = quiet all silence the report and stale warnings", async () => {
    const repo = tempRepo({
      "seed.txt": "1\n",
      "gen.py": "open('a.txt','w').write(open('seed.txt').read())\n",
      "use.py": "open('b.txt','w').write(open('a.txt').read() * 2)\n",
    });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "roar init");
    expect((await roar(["run", "python3", "gen.py"], { cwd: repo })).code).toBe(0);
    expect((await roar(["run", "python3", "use.py"], { cwd: repo })).code).toBe(0);
    let seed = 1;
    /** Re-runs gen on new bytes: use.py is stale downstream of it. */
    const rerunGen = (args: string[], env: Record<string, string> = {}) => {
      writeFileSync(join(repo, "seed.txt"), `${++seed}\n`);
      commitAll(repo, `seed ${seed}`);
      return roar(["run", ...args, "python3", "gen.py"], { cwd: repo, env });
    };
    const loud = await rerunGen([]);
    expect(loud.code).toBe(0);
    expect(loud.stderr).toContain("roar: @1");
    expect(loud.stderr).toContain("warning: downstream steps are stale: @2");
    for (const [args, env] of [
      [["-q"], {}],
      [[], { ROAR_OUTPUT__QUIET: "true" }],
      [[], { ROAR_OUTPUT__VERBOSITY: "quiet" }],
    ] as const) {
      const r = await rerunGen([...args], { ...env });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
    }
    for (const [key, value] of [
      ["output.quiet", "true"],
      ["output.verbosity", "quiet"],
    ] as const) {
      await roar(["config", "set", key, value], { cwd: repo });
      const r = await rerunGen([]);
      expect(r.code).toBe(0);
      // Only the note that verbosity is not fully used yet, never the report or a stale warning.
      expect(r.stderr).not.toContain("roar: @1");
      expect(r.stderr).not.toContain("stale");
      await roar(["config", "set", key, key === "output.quiet" ? "false" : "normal"], { cwd: repo });
    }
  }, 120_000);
});

describe("writing to pipes (stdout/stderr are written with write(2) unless a terminal)", () => {
  /** A session whose `dag --json` is far bigger than a pipe's buffer. */
  function bigDag(): Fixture {
    const f = fixture();
    fixtures.push(f);
    for (let i = 0; i < 300; i++)
      f.job({ argv: ["python", `step${i}.py`], outputs: { [`out/${"long-name-".repeat(8)}${i}.txt`]: `v${i}` } });
    return f;
  }

  test("a non-blocking pipe with a slow reader gets the whole document", async () => {
    const f = bigDag();
    const reader = [
      "import os, subprocess, sys, time",
      "r, w = os.pipe()",
      "os.set_blocking(w, False)",
      "p = subprocess.Popen(sys.argv[1:], stdout=w)",
      "os.close(w)",
      "time.sleep(0.3)",
      "data = b''",
      "while chunk := os.read(r, 4096):",
      "    data += chunk",
      "    time.sleep(0.0005)",
      "sys.stdout.write(f'{p.wait()} {len(data)}\\n')",
      "sys.stdout.flush()",
      "os.write(2, data)",
    ].join("\n");
    const r = Bun.spawnSync(["python3", "-c", reader, ROAR_BIN, "dag", "--json"], {
      cwd: f.root,
      env: { ...process.env, HOME: join(f.root, ".test-home") },
    });
    const [exitCode, bytes] = r.stdout.toString().trim().split(" ").map(Number);
    expect(exitCode).toBe(0);
    // Several times a pipe's 64 KiB buffer.
    expect(bytes).toBeGreaterThan(128 * 1024);
    const doc = JSON.parse(r.stderr.toString()) as { totalSteps: number };
    expect(doc.totalSteps).toBe(300);
  });

  test("a reader that goes away early (| head): exit 0 and no error", () => {
    const f = bigDag();
    const sh = Bun.spawnSync(["bash", "-c", `'${ROAR_BIN}' dag --json | head -c 16; echo " \${PIPESTATUS[0]}"`], {
      cwd: f.root,
      env: { ...process.env, HOME: join(f.root, ".test-home") },
    });
    expect(sh.stdout.toString()).toBe('{"schemaVersion" 0\n');
    expect(sh.stderr.toString()).toBe("");
  });
});
