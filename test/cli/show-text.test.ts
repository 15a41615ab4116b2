/** `roar show @N` (text) states the Python interpreter, venv and packages `roar show --json` records. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { commitAll, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { buildToyWheel, venvWith } from "../helpers/python.ts";
import { runAvailable } from "./dag-e2e.ts";

test.skipIf(!runAvailable)(
  "Python version and interpreter, venv, pip packages (top few) and Debian count",
  async () => {
    const wheels = join(tempDir(), "wheels");
    buildToyWheel(wheels, "roartoy", "2.0.1", "def triple(x):\n    return 3 * x\n");
    buildToyWheel(wheels, "roarzeta", "0.3", "VALUE = 7\n");
    const venv = venvWith(wheels, ["roartoy", "roarzeta"]);
    const repo = tempRepo({
      // `cat` (coreutils) gives the job a Debian package too.
      "use.py":
        "import subprocess, roartoy, roarzeta\nsubprocess.run(['cat', '/dev/null'], check=True)\nopen('out.txt', 'w').write(str(roartoy.triple(roarzeta.VALUE)))\n",
    });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init roar");
    const run = await roar(["run", "-q", join(venv, "bin/python"), "use.py"], { cwd: repo });
    expect(run.code).toBe(0);

    const doc = await roarJson<ShowJobJson>(["show", "@1", "--json"], { cwd: repo });
    const python = doc.python as { executable: string; version: string; venv: string };
    const packages = doc.packages as { pip: Record<string, string>; dpkg: Record<string, string> };
    expect(python.venv).toBe(venv);
    expect(packages.pip).toEqual({ roartoy: "2.0.1", roarzeta: "0.3" });
    const debian = Object.keys(packages.dpkg).length;
    expect(debian).toBeGreaterThan(0);

    const text = await roar(["show", "@1"], { cwd: repo });
    expect(text.code).toBe(0);
    const field = (name: string) => text.stdout.split("\n").find((l) => l.startsWith(`${name}:`));
    expect(field("Python")).toBe(`Python:     ${python.version} (${python.executable})`);
    expect(python.version).toMatch(/^3\.\d+\.\d+/);
    expect(field("Venv")).toBe(`Venv:       ${venv}`);
    expect(field("Packages")).toBe(
      `Packages:   2 pip (roartoy==2.0.1, roarzeta==0.3), ${debian} Debian  (--all lists them)`,
    );
    // Every package by name with --all.
    const all = await roar(["show", "@1", "--all"], { cwd: repo });
    expect(all.stdout).toContain("Packages (pip, 2):\n  roartoy==2.0.1\n  roarzeta==0.3\n");
    expect(all.stdout).toContain(`Packages (dpkg, ${debian}):`);
  },
  180_000,
);
