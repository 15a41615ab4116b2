/**
 * Code versus data: a file of the project is code (represented by the commit) only when it is tracked and
 * unmodified at the recorded commit and no recorded job wrote it. A header, library or script that a step
 * generated is an input of the step that reads it — the two steps are connected and `reproduce` rebuilds it —
 * and an executed script follows the same rule on every backend.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, REPO_ROOT, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;
const hasCc = Bun.spawnSync(["sh", "-c", "command -v cc"]).exitCode === 0;

async function step(repo: string, tracer: string, kind: "run" | "build", argv: string[]): Promise<ShowJobJson> {
  const r = await roar([kind, "--json", "--tracer", tracer, ...argv], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar ${kind} ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ShowJobJson;
}

interface Plan {
  plan: { steps: { command: string[] }[]; externalInputs: { path: string }[] };
}

const GEN = `open("gen.h", "w").write("#define VALUE 42\\n")\n`;
const USE = `#include "gen.h"\nint value(void) { return VALUE; }\n`;

describe.skipIf(!tracerAvailable || !hasCc)("code versus data", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: a generated header is an input; the committed source is code`, async () => {
      const repo = tempRepo({ "gen.py": GEN, "use.c": USE, ".gitignore": ".test-home/\ngen.h\n*.o\n" });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const gen = await step(repo, tracer, "build", ["python3", "gen.py"]);
      expect(gen.outputs.map((o) => o.path)).toEqual(["gen.h"]);
      const use = await step(repo, tracer, "build", ["cc", "-c", "use.c", "-o", "use.o"]);
      expect(use.inputs.map((i) => [i.path, i.blake3])).toEqual([["gen.h", b3sum(join(repo, "gen.h"))]]);
      const plan = await roarJson<Plan>(["reproduce", b3sum(join(repo, "use.o")), "--json"], { cwd: repo });
      expect(plan.plan.steps.map((s) => s.command.join(" "))).toEqual(["python3 gen.py", "cc -c use.c -o use.o"]);
      expect(plan.plan.externalInputs).toEqual([]);
    }, 60_000);

    test(`${tracer}: an executed script is code when committed, an input when a step wrote it`, async () => {
      const repo = tempRepo({ gen: "#!/bin/sh\necho generated > out.txt\n" });
      chmodSync(join(repo, "gen"), 0o755);
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const committed = await step(repo, tracer, "run", ["./gen"]);
      expect(committed.inputs).toEqual([]);
      expect(committed.outputs.map((o) => o.path)).toEqual(["out.txt"]);
      await step(repo, tracer, "run", [
        "sh",
        "-c",
        "printf '#!/bin/sh\\necho again > again.txt\\n' > made && chmod +x made",
      ]);
      const made = await step(repo, tracer, "run", ["./made"]);
      expect(made.inputs.map((i) => i.path)).toEqual(["made"]);
    }, 60_000);
  }

  test("linking against a library an earlier step built keeps the edge; reproduce --run rebuilds both", async () => {
    const bare = join(tempDir("roar-bare-"), "origin.git");
    Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
    const repo = tempRepo({
      "foo.c": "int foo(void) { return 7; }\n",
      "main.c": "int foo(void);\nint main(void) { return foo() == 7 ? 0 : 1; }\n",
      ".gitignore": ".test-home/\n*.so\nmain\n",
    });
    git(repo, "remote", "add", "origin", bare);
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");
    git(repo, "push", "-q", "origin", "main");
    await step(repo, "hybrid", "build", ["cc", "-shared", "-fPIC", "foo.c", "-o", "libfoo.so"]);
    const link = await step(repo, "hybrid", "build", ["cc", "main.c", "-L.", "-lfoo", "-o", "main"]);
    expect(link.inputs.map((i) => i.path)).toEqual(["libfoo.so"]);
    const dest = join(tempDir(), "rebuild");
    const r = await roar(["reproduce", b3sum(join(repo, "main")), "--run", "-y", "--dest", dest, "--json"], {
      cwd: repo,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { target: { state: string }; artifacts: { path: string }[] };
    expect(report.target.state).toBe("identical");
    expect(report.artifacts.map((a) => a.path).sort()).toEqual(["libfoo.so", "main"]);
  }, 120_000);
});

describe.skipIf(!tracerAvailable)("what git says is code, remembered", () => {
  test("a re-run asks git nothing while the index is the same; untracking the script makes it data again", async () => {
    const repo = tempRepo({ "job.py": 'open("data.txt").read()\n', "data.txt": "numbers\n" });
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");
    // The real git, behind a wrapper that notes each `git ls-files` roar starts.
    const bin = tempDir("roar-git-wrapper-");
    const log = join(bin, "ls-files.log");
    const realGit = Bun.which("git") ?? "/usr/bin/git";
    writeFileSync(
      join(bin, "git"),
      `#!/bin/sh\n[ "$1" = ls-files ] && echo "$*" >> '${log}'\nexec '${realGit}' "$@"\n`,
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${join(REPO_ROOT, "node_modules/.bin")}:${process.env.PATH ?? "/usr/bin:/bin"}` };
    const asked = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").length : 0);
    const run = async () => {
      const r = await roar(["run", "--json", "python3", "job.py"], { cwd: repo, env });
      if (r.code !== 0) throw new Error(`roar run exited ${r.code}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as ShowJobJson).inputs.map((i) => i.path);
    };
    expect(await run()).toEqual(["data.txt"]);
    expect(asked()).toBe(1);
    expect(await run()).toEqual(["data.txt"]);
    expect(asked()).toBe(1);
    // Untracked (and ignored, so that the tree stays clean): the index changed, git is asked, and job.py is data.
    writeFileSync(join(repo, ".gitignore"), ".test-home/\njob.py\n");
    git(repo, "rm", "-q", "--cached", "job.py");
    commitAll(repo, "untrack job.py");
    expect((await run()).sort()).toEqual(["data.txt", "job.py"]);
    expect(asked()).toBe(2);
  }, 60_000);
});
