/**
 * File names that are not valid UTF-8 round-trip byte-exactly: from the tracer through the store and back to the
 * file system, and from the command line. A file whose name is the byte 0xff and one literally named `\xff`
 * (four characters) are different files.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import {
  commitAll,
  hermeticEnv,
  ROAR_BIN,
  type RunResult,
  roar,
  roarJson,
  spawnCollect,
  tempRepo,
} from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;

/** The name made of the byte 0xff, as roar and JSON.parse spell it (surrogateescape: U+DC00 + byte). */
const BYTE_FF = "\udcff";
/** A file literally named backslash, x, f, f. */
const LITERAL = "\\xff";

/** Runs roar through sh, so arguments can hold bytes a JS string cannot pass (`$(printf '\377')`). */
function roarSh(repo: string, args: string): Promise<RunResult> {
  return spawnCollect(["sh", "-c", `exec "$0" ${args}`, ROAR_BIN], {
    cwd: repo,
    env: hermeticEnv(join(repo, ".test-home")),
  });
}

function namesOnDisk(repo: string): string[] {
  return readdirSync(repo, { encoding: "buffer" }).map((b) => b.toString("latin1"));
}

describe.skipIf(!tracerAvailable)("file names that are not UTF-8", () => {
  test("status, show, lineage and pop find the exact file; a file literally named \\xff is left alone", async () => {
    const repo = tempRepo({
      [LITERAL]: "same\n",
      "argv.py": "import sys, os\nopen('argv.bin', 'wb').write(os.fsencode(sys.argv[1]))\n",
    });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "roar init");

    // An argument with the byte 0xff reaches the command and the record exactly.
    let r = await roarSh(repo, `run -q python3 argv.py "$(printf 'a\\377b')"`);
    expect(r.code).toBe(0);
    expect([...readFileSync(join(repo, "argv.bin"))]).toEqual([0x61, 0xff, 0x62]);
    const first = await roarJson<{ command: string[] }>(["show", "@1", "--json"], { cwd: repo });
    expect(first.command).toEqual(["python3", "argv.py", `a${BYTE_FF}b`]);

    // The job writes the same bytes as the committed literal file, to a file named by the byte 0xff.
    r = await roar(["run", "-q", "python3", "-c", "open(b'\\xff', 'w').write('same\\n')"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(namesOnDisk(repo)).toContain("\xff");

    const status = await roarJson<{ outputs: { tracked: number; present: number; missing: number } }>(
      ["status", "--json"],
      { cwd: repo },
    );
    expect(status.outputs).toMatchObject({ tracked: 2, present: 2, missing: 0 });

    const job = await roarJson<{ outputs: { path: string }[] }>(["show", "@2", "--json"], { cwd: repo });
    expect(job.outputs.map((o) => o.path)).toEqual([BYTE_FF]);

    r = await roarSh(repo, `show --json "$(printf '\\377')"`);
    expect(r.code).toBe(0);
    const artifact = JSON.parse(r.stdout) as { type: string; locations: string[]; producedBy: { step: number }[] };
    expect(artifact.type).toBe("artifact");
    expect(artifact.locations).toEqual([BYTE_FF]);
    expect(artifact.producedBy.map((p) => p.step)).toEqual([2]);

    // Text output shows the byte as \xff, never as a replacement character.
    r = await roarSh(repo, `show "$(printf '\\377')"`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`at ${LITERAL}`);
    expect(r.stdout).not.toContain("\uFFFD");

    r = await roarSh(repo, `lineage "$(printf '\\377')"`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("@2");

    r = await roar(["pop", "-y"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(existsSync(Buffer.concat([Buffer.from(`${repo}/`), Buffer.from([0xff])]))).toBe(false);
    expect(readFileSync(join(repo, LITERAL), "utf8")).toBe("same\n");
  }, 60_000);
});
