/**
 * The same record from every backend: one Python job in a venv (built on Debian's interpreter with
 * --system-site-packages) recorded under ptrace, preload and hybrid gives the same interpreter, venv, Python
 * distributions — a Debian package (six, a single module with an .egg-info), a wheel holding a single module
 * (RECORD maps it) — and Debian packages, including the shared libraries the dynamic loader maps by itself
 * (libpython's dependencies, and libsqlite3 which `import sqlite3` dlopens). Compared field by field.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, hermeticEnv, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { buildSingleModuleWheel, offlinePipEnv } from "../helpers/python.ts";

const DEBIAN_PYTHON = "/usr/bin/python3";
const hasDebianSix = existsSync("/usr/lib/python3/dist-packages/six.py");
const usable = autoChoice() !== null && existsSync(DEBIAN_PYTHON) && hasDebianSix;
if (!usable) console.warn("skipped backend parity: needs Debian's python3 and python3-six (scripts/setup.ts)");

const SCRIPT = `import json, sqlite3, six, solo
sqlite3.connect(":memory:").execute("select 1")
open("out.json", "w").write(json.dumps([six.text_type("x"), solo.VALUE]))
`;

interface Environment {
  python: unknown;
  pip: unknown;
  dpkg: unknown;
  inputs: string[];
  outputs: string[];
  complete: unknown;
}

describe.skipIf(!usable)("the same record from every backend", () => {
  test("interpreter, venv, Python distributions and Debian packages match field by field", async () => {
    const wheels = join(tempDir("roar-wheels-"), "wheels");
    buildSingleModuleWheel(wheels, "solo", "0.3.1", "VALUE = 42\n");
    const venv = join(tempDir("roar-venv-"), "venv");
    expect(Bun.spawnSync([DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", venv]).exitCode).toBe(0);
    const pip = Bun.spawnSync([join(venv, "bin/python"), "-m", "pip", "install", "-q", "solo"], {
      env: { ...hermeticEnv(venv), ...offlinePipEnv(wheels) },
    });
    expect(pip.exitCode).toBe(0);
    const repo = tempRepo({ "use.py": SCRIPT, ".gitignore": ".test-home/\nout.json\n" });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");

    const records: Record<string, Environment> = {};
    for (const tracer of ["ptrace", "preload", "hybrid"]) {
      const r = await roar(["run", "--json", "--tracer", tracer, join(venv, "bin/python"), "use.py"], { cwd: repo });
      if (r.code !== 0) throw new Error(`${tracer}: roar run exited ${r.code}: ${r.stderr}`);
      const job = JSON.parse(r.stdout) as ShowJobJson;
      const packages = job.packages as { pip: unknown; dpkg: unknown };
      records[tracer] = {
        python: job.python,
        pip: packages.pip,
        dpkg: packages.dpkg,
        inputs: job.inputs.map((i) => i.path),
        outputs: job.outputs.map((o) => o.path),
        complete: (job.trace as { complete: boolean }).complete,
      };
    }
    const reference = records.ptrace as Environment;
    // What it must be, whichever backend: the venv's interpreter and both single-module distributions…
    expect(reference.python).toMatchObject({ executable: join(venv, "bin/python"), venv });
    expect(reference.pip).toEqual({ six: expect.any(String), solo: "0.3.1" });
    // …the interpreter's own Debian package and the libraries the loader maps (libsqlite3 through dlopen).
    expect(Object.keys(reference.dpkg as object)).toEqual(
      expect.arrayContaining(["libc6", "libsqlite3-0", expect.stringMatching(/^python3\.\d+-minimal$/)]),
    );
    expect(reference.complete).toBe(true);
    for (const tracer of ["preload", "hybrid"]) {
      const other = records[tracer] as Environment;
      for (const field of Object.keys(reference) as (keyof Environment)[]) {
        expect({ tracer, field, value: other[field] }).toEqual({ tracer, field, value: reference[field] });
      }
    }
  }, 120_000);
});
