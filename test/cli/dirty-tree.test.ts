/**
 * Newcomer friction (issue 13, item 6): what `roar init -y` and traced jobs leave in the tree never refuses the
 * next run — roar's own .gitignore line, Python's bytecode caches, outputs the user renamed — while a real
 * uncommitted change still does.
 */

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { git, roar, tempDir, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;
const T = 120_000;

describe.skipIf(!tracerAvailable)("a dirty tree that is not the user's", () => {
  test(
    "init -y edits a tracked .gitignore and says so; imports write __pycache__; a renamed output: none refuses a run",
    async () => {
      const repo = tempRepo({
        "helper.py": "def double(x):\n    return 2 * x\n",
        "use.py": "import sys, helper\nopen(sys.argv[1], 'w').write(str(helper.double(21)))\n",
      });
      const init = await roar(["init", "-y"], { cwd: repo });
      expect(init.code).toBe(0);
      expect(init.stdout).toContain("added the line .roar/ to .gitignore");
      expect(init.stdout).toContain("do not count this line as an uncommitted change");
      expect(git(repo, "status", "--porcelain")).toContain(" M .gitignore");

      // The first run right after init: the .gitignore edit is roar's, not the user's.
      const first = await roar(["run", "-q", "python3", "use.py", "out.txt"], { cwd: repo });
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      // Python wrote its bytecode cache next to the imported module (no PYTHONDONTWRITEBYTECODE in the test env).
      expect(readdirSync(join(repo, "__pycache__")).some((f) => f.endsWith(".pyc"))).toBe(true);

      // The user renames the output: its content is a recorded output, so it is not an unknown file.
      renameSync(join(repo, "out.txt"), join(repo, "answer.txt"));
      const second = await roar(["run", "-q", "python3", "use.py", "out2.txt"], { cwd: repo });
      expect(second.stderr).toBe("");
      expect(second.code).toBe(0);

      // A real change of the user's still refuses, and is the only file listed.
      writeFileSync(join(repo, "notes.txt"), "mine\n");
      const tmp = tempDir("roar-refused-tmp-");
      const refused = await roar(["run", "-q", "python3", "use.py", "out3.txt"], { cwd: repo, env: { TMPDIR: tmp } });
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain("untracked: notes.txt");
      expect(refused.stderr).not.toContain("modified:  .gitignore");
      expect(refused.stderr).not.toContain("__pycache__");
      expect(refused.stderr).not.toContain("answer.txt");
      expect(existsSync(join(repo, "out3.txt"))).toBe(false);
      // Refused before the job started: nothing of the run is left (temporary directory, registration).
      expect(readdirSync(tmp).flatMap((d) => readdirSync(join(tmp, d)))).toEqual([]);
      const db = new Database(join(repo, ".roar", "roar.db"), { readonly: true });
      expect(db.query("SELECT count(*) AS n FROM runs_in_flight").get()).toEqual({ n: 0 });
      db.close();
    },
    T,
  );

  test(
    "a .gitignore changed beyond roar's line is the user's change",
    async () => {
      const repo = tempRepo({ "w.py": "import sys\nopen(sys.argv[1], 'w').write('x')\n" });
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      writeFileSync(join(repo, ".gitignore"), ".test-home/\n.roar/\n*.log\n");
      const r = await roar(["run", "-q", "python3", "w.py", "o.txt"], { cwd: repo });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain("modified:  .gitignore");
    },
    T,
  );

  test(
    "a new .gitignore that init created holds only roar's line: not dirty",
    async () => {
      const repo = tempRepo({ "w.py": "import sys\nopen(sys.argv[1], 'w').write('x')\n" });
      git(repo, "rm", "-q", ".gitignore");
      git(repo, "commit", "-q", "-m", "no gitignore");
      // The test home must not sit inside the repository: nothing ignores it now.
      const home = tempDir("roar-home-");
      const init = await roar(["init", "-y"], { cwd: repo, home });
      expect(init.stdout).toContain("created .gitignore with the line .roar/");
      const r = await roar(["run", "-q", "python3", "w.py", "o.txt"], { cwd: repo, home });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    },
    T,
  );
  test(
    "a project below the repository's root: its untracked .roar/ and the outputs its jobs wrote are not changes",
    async () => {
      const repo = tempRepo({});
      const project = join(repo, "sub");
      mkdirSync(project);
      writeFileSync(join(project, "w.py"), "import sys\nopen(sys.argv[1], 'w').write(sys.argv[2])\n");
      git(repo, "add", "sub/w.py");
      git(repo, "commit", "-q", "-m", "w.py");
      expect((await roar(["init"], { cwd: project })).code).toBe(0);
      // Nothing ignores .roar/ (plain init leaves .gitignore alone): git lists sub/.roar/roar.db, … as untracked.
      expect(git(repo, "status", "--porcelain", "--untracked-files=all")).toContain("?? sub/.roar/");
      const first = await roar(["run", "-q", "python3", "w.py", "a.txt", "one"], { cwd: project });
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      // a.txt is an untracked output of a recorded job: known by its path, whatever it holds now.
      writeFileSync(join(project, "a.txt"), "edited since\n");
      const second = await roar(["run", "-q", "python3", "w.py", "b.txt", "two"], { cwd: project });
      expect(second.stderr).toBe("");
      expect(second.code).toBe(0);
      writeFileSync(join(project, "mine.txt"), "the user's\n");
      const refused = await roar(["run", "-q", "python3", "w.py", "c.txt", "three"], { cwd: project });
      expect(refused.code).toBe(125);
      expect(refused.stderr).toContain("untracked: sub/mine.txt");
      expect(refused.stderr).not.toContain("a.txt");
      expect(refused.stderr).not.toContain(".roar");
      expect(existsSync(join(project, "c.txt"))).toBe(false);
    },
    T,
  );
});
