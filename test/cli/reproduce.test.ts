/**
 * `roar reproduce` end to end, offline: a pipeline recorded in a repo whose origin is a local bare repo,
 * rebuilt into a fresh directory and verified against the recorded digests.
 */

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { buildToyWheel, offlinePipEnv, venvWith } from "../helpers/python.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

const PREPROCESS = `import sys
rows = open(sys.argv[1]).read().split()
open(sys.argv[2], "w").write("\\n".join(str(int(r) * 2) for r in rows))
`;
const TRAIN = `import sys
xs = [int(x) for x in open(sys.argv[1]).read().split()]
open(sys.argv[2], "w").write("model:%d" % sum(xs))
`;
const EVALUATE = `import sys
open(sys.argv[2], "w").write("score:" + open(sys.argv[1]).read())
`;
const NOISY = `import os, sys
open(sys.argv[1], "w").write(os.urandom(8).hex())
`;

interface Plan {
  plan: {
    steps: { step: string; command: string[] }[];
    externalInputs: { path: string; availability: string }[];
    target: { blake3: string };
  };
}

/** Snapshot of every file in the working tree outside .git/, .roar/ and reproduce/ (path → size:mtime:b3). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if ([".git", ".roar", "reproduce", ".test-home"].includes(rel)) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(rel, `${st.size}:${st.mtimeMs}:${b3sum(p)}`);
    }
  };
  walk(dir);
  return out;
}

async function pipelineRepo(extra: Record<string, string> = {}): Promise<{ repo: string; bare: string }> {
  const bare = join(tempDir("roar-bare-"), "origin.git");
  Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
  const repo = tempRepo({
    "preprocess.py": PREPROCESS,
    "train.py": TRAIN,
    "evaluate.py": EVALUATE,
    "noisy.py": NOISY,
    ".gitignore": ".test-home/\ndata.txt\n",
    ...extra,
  });
  git(repo, "remote", "add", "origin", bare);
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "pipeline");
  git(repo, "push", "-q", "origin", "main");
  writeFileSync(join(repo, "data.txt"), "1 2 3 4\n");
  return { repo, bare };
}

async function run(repo: string, ...argv: string[]): Promise<void> {
  const r = await roar(["run", "-q", ...argv], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar run ${argv.join(" ")} failed: ${r.stderr}`);
}

describe.skipIf(!tracerAvailable)("roar reproduce", () => {
  test("preview lists exactly the upstream steps; --run rebuilds in a fresh directory and verifies", async () => {
    const { repo } = await pipelineRepo();
    await run(repo, "python3", "preprocess.py", "data.txt", "features.txt");
    await run(repo, "python3", "noisy.py", "unrelated.txt");
    await run(repo, "python3", "train.py", "features.txt", "model.txt");
    await run(repo, "python3", "evaluate.py", "model.txt", "score.txt");
    const model = b3sum(join(repo, "model.txt"));

    const before = snapshot(repo);
    const jobsBefore = new Database(join(repo, ".roar/roar.db")).query("SELECT count(*) AS n FROM jobs").get() as {
      n: number;
    };

    const plan = await roarJson<Plan>(["reproduce", model.slice(0, 12), "--json"], { cwd: repo });
    expect(plan.plan.steps.map((s) => s.command.join(" "))).toEqual([
      "python3 preprocess.py data.txt features.txt",
      "python3 train.py features.txt model.txt",
    ]);
    expect(plan.plan.externalInputs).toEqual([
      expect.objectContaining({ path: "data.txt", availability: "available" }),
    ]);
    const text = await roar(["reproduce", model.slice(0, 12)], { cwd: repo });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("roar reproduce");
    expect(existsSync(join(repo, "reproduce"))).toBe(false);

    const dest = join(tempDir(), "rebuild");
    const r = await roar(["reproduce", model, "--run", "-y", "--dest", dest, "--json"], { cwd: repo });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { target: { state: string }; artifacts: { path: string; state: string }[] };
    expect(report.target.state).toBe("identical");
    expect(report.artifacts.map((a) => [a.path, a.state]).sort()).toEqual([
      ["features.txt", "identical"],
      ["model.txt", "identical"],
    ]);
    expect(b3sum(join(dest, "model.txt"))).toBe(model);
    expect(existsSync(join(dest, "unrelated.txt"))).toBe(false);
    expect(r.stderr).toContain("[step 1/2]");

    // The user's checkout is untouched and its database gained no jobs.
    expect(snapshot(repo)).toEqual(before);
    const jobsAfter = new Database(join(repo, ".roar/roar.db")).query("SELECT count(*) AS n FROM jobs").get() as {
      n: number;
    };
    expect(jobsAfter.n).toBe(jobsBefore.n);

    // --dest onto a non-empty directory is refused.
    const refused = await roar(["reproduce", model, "--run", "-y", "--dest", dest], { cwd: repo });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not empty");
  }, 120_000);

  test("a non-deterministic step is reported as differing, with both digests, and exits non-zero", async () => {
    const { repo } = await pipelineRepo();
    await run(repo, "python3", "noisy.py", "noise.txt");
    const recorded = b3sum(join(repo, "noise.txt"));
    const dest = join(tempDir(), "rebuild");
    const r = await roar(["reproduce", recorded, "--run", "-y", "--dest", dest], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("differs");
    expect(r.stdout).toContain(recorded);
    expect(r.stdout).toContain(b3sum(join(dest, "noise.txt")));
    const allowed = await roar(
      ["reproduce", recorded, "--run", "-y", "--allow-differences", "--dest", join(tempDir(), "again")],
      { cwd: repo },
    );
    expect(allowed.code).toBe(0);
  }, 120_000);

  test("a missing external input stops with a clear message before anything runs", async () => {
    const { repo } = await pipelineRepo();
    await run(repo, "python3", "preprocess.py", "data.txt", "features.txt");
    const features = b3sum(join(repo, "features.txt"));
    rmSync(join(repo, "data.txt"));
    const dest = join(tempDir(), "rebuild");
    const r = await roar(["reproduce", features, "--run", "-y", "--dest", dest], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data.txt");
    expect(r.stderr).toContain("not found");
    expect(existsSync(dest)).toBe(false);
  }, 60_000);

  test("pip packages are installed pinned into the rebuild's venv from --find-links", async () => {
    const wheels = join(tempDir(), "wheels");
    buildToyWheel(wheels, "roartoy", "2.0.1", "def triple(x):\n    return 3 * x\n");
    const venv = venvWith(wheels, ["roartoy"]);
    const pipEnv = offlinePipEnv(wheels);
    const { repo } = await pipelineRepo({
      "use.py": "import roartoy\nopen('tripled.txt','w').write(str(roartoy.triple(14)))\n",
    });
    await run(repo, join(venv, "bin/python"), "use.py");
    const out = b3sum(join(repo, "tripled.txt"));
    const dest = join(tempDir(), "rebuild");
    // The recorded interpreter path is the original venv's; the rebuild runs `python` from its own venv.
    const r = await roar(["reproduce", out, "--run", "-y", "--dest", dest, "--json"], { cwd: repo, env: pipEnv });
    // The step's argv names the original venv's python, so prove the package came from the rebuild's venv too:
    expect(existsSync(join(dest, ".roar-venv/lib"))).toBe(true);
    const installed = Bun.spawnSync(
      [
        join(dest, ".roar-venv/bin/python"),
        "-c",
        "import roartoy, importlib.metadata as m; print(m.version('roartoy'))",
      ],
      { stdout: "pipe" },
    );
    expect(installed.stdout.toString().trim()).toBe("2.0.1");
    expect(r.code).toBe(0);
  }, 120_000);

  test("each step is rebuilt on its own commit and recorded diff; a project in a subdirectory works", async () => {
    const { repo } = await pipelineRepo();
    await run(repo, "python3", "preprocess.py", "data.txt", "features.txt");
    // The code changes and is committed between the two steps.
    writeFileSync(join(repo, "preprocess.py"), PREPROCESS.replace("* 2", "* 3"));
    commitAll(repo, "v2");
    await run(repo, "python3", "train.py", "features.txt", "model.txt");
    // An uncommitted, untracked helper script used with --allow-dirty.
    writeFileSync(join(repo, "extra.py"), "import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read()[::-1])\n");
    const dirty = await roar(["run", "-q", "--allow-dirty", "python3", "extra.py", "model.txt", "final.txt"], {
      cwd: repo,
    });
    expect(dirty.code).toBe(0);
    const target = b3sum(join(repo, "final.txt"));
    const r = await roar(["reproduce", target, "--run", "-y", "--dest", join(tempDir(), "rebuild"), "--json"], {
      cwd: repo,
    });
    expect(r.stderr).not.toContain("failed");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { artifacts: { path: string; state: string }[] };
    expect(report.artifacts.every((a) => a.state === "identical")).toBe(true);

    // The same pipeline with the roar project in a subdirectory of the repository.
    const outer = tempRepo({ ".gitignore": ".test-home/\nproj/data.txt\n" });
    const proj = join(outer, "proj");
    mkdirSync(proj);
    writeFileSync(join(proj, "preprocess.py"), PREPROCESS);
    await roar(["init", "-n"], { cwd: proj });
    writeFileSync(join(outer, ".gitignore"), ".test-home/\nproj/data.txt\n.roar/\n");
    commitAll(outer, "project in proj/");
    writeFileSync(join(proj, "data.txt"), "5 6\n");
    expect((await roar(["run", "-q", "python3", "preprocess.py", "data.txt", "f.txt"], { cwd: proj })).code).toBe(0);
    const sub = await roar(["reproduce", b3sum(join(proj, "f.txt")), "--run", "-y", "--dest", join(tempDir(), "sub")], {
      cwd: proj,
    });
    expect(sub.stderr).not.toContain("failed");
    expect(sub.code).toBe(0);
  }, 180_000);
});
