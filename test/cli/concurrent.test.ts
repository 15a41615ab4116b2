/**
 * Parallel `roar run`s in one project: each gets a step of its own (step numbers are assigned inside the job's
 * write transaction), and the files an in-flight run is writing never make the next run's tree dirty.
 */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DagJson } from "../../src/schema/dag.ts";
import type { StatusJson } from "../../src/schema/status.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, roarJson, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;

/** Writes `count` files under `<dir>/`, slowly enough that the runs overlap. */
const WRITE_PY = `import os, sys, time
d, count = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(count):
    with open(os.path.join(d, f"f{i:04d}.txt"), "w") as f:
        f.write(f"{d} {i}\\n")
    if i % 50 == 0:
        time.sleep(0.02)
`;

async function parallelRound(repo: string, round: number, runs: number, files: number): Promise<void> {
  const started = Array.from({ length: runs }, (_, i) =>
    roar(["run", "-q", "python3", "write.py", `r${round}_out${i}`, String(files)], { cwd: repo, timeoutMs: 240_000 }),
  );
  const results = await Promise.all(started);
  for (const [i, r] of results.entries()) {
    if (r.code !== 0) throw new Error(`round ${round} run ${i} exited ${r.code}: ${r.stderr}`);
  }
}

describe.skipIf(!tracerAvailable)("concurrent roar runs in one project", () => {
  test("8 parallel runs with 8 identities get 8 steps, and every output is tracked — several rounds", async () => {
    const repo = tempRepo({ "write.py": WRITE_PY });
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo, "roar init");
    const rounds = 3;
    const runs = 8;
    const files = 300;
    for (let round = 0; round < rounds; round++) {
      // Outputs are neither committed nor ignored: the in-flight runs' files must not block the others.
      await parallelRound(repo, round, runs, files);
      const dag = await roarJson<DagJson>(["dag", "--json"], { cwd: repo });
      expect(dag.totalSteps).toBe(runs * (round + 1));
      const steps = dag.nodes.map((n) => n.step);
      expect(new Set(steps).size).toBe(steps.length);
      const commands = new Set(dag.nodes.map((n) => n.command));
      expect(commands.size).toBe(runs * (round + 1));
      const status = await roarJson<StatusJson>(["status", "--json"], { cwd: repo });
      expect(status.outputs.tracked).toBe(runs * files * (round + 1));
      expect(status.outputs.present).toBe(runs * files * (round + 1));
    }
  }, 900_000);

  test("parallel runs reading the same data share one input set; each job still lists every input", async () => {
    const READ_PY = `import os, sys, time
total = 0
for name in sorted(os.listdir("data")):
    with open(os.path.join("data", name)) as f: total += len(f.read())
    time.sleep(0.001)
open(sys.argv[1], "w").write(str(total))
`;
    const repo = tempRepo({ "read.py": READ_PY });
    mkdirSync(join(repo, "data"));
    for (let i = 0; i < 200; i++) writeFileSync(join(repo, "data", `f${i}.txt`), `row ${i}\n`);
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo, "data and roar init");
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => roar(["run", "-q", "python3", "read.py", `sum${i}.txt`], { cwd: repo })),
    );
    for (const r of results) expect(r.code).toBe(0);
    const db = new Database(join(repo, ".roar/roar.db"), { readonly: true });
    const sets = db.query("SELECT DISTINCT input_set AS id FROM jobs").all() as { id: number | null }[];
    expect(sets).toHaveLength(1);
    expect(sets[0]?.id).not.toBeNull();
    expect((db.query("SELECT count(*) AS n FROM input_sets").get() as { n: number }).n).toBe(1);
    expect((db.query("SELECT count(DISTINCT output_set) AS n FROM jobs").get() as { n: number }).n).toBe(4);
    db.close();
    for (let step = 1; step <= 4; step++) {
      const job = await roarJson<{ inputs: { path: string }[] }>(["show", `@${step}`, "--json"], { cwd: repo });
      expect(job.inputs.filter((i) => i.path.startsWith("data/"))).toHaveLength(200);
    }
  }, 240_000);

  test("a run started while another is writing is not refused, and a user's own new file still is", async () => {
    const repo = tempRepo({
      "write.py": WRITE_PY,
      "slow.py": "import time, sys\nopen('slow.txt','w').write('x')\ntime.sleep(3)\n",
    });
    expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
    commitAll(repo, "roar init");
    const slow = roar(["run", "-q", "python3", "slow.py"], { cwd: repo });
    // wait until the slow run has written its file
    for (let i = 0; i < 200 && !(await Bun.file(`${repo}/slow.txt`).exists()); i++) await Bun.sleep(25);
    const second = await roar(["run", "-q", "python3", "write.py", "other", "3"], { cwd: repo });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    await Bun.write(`${repo}/notes.txt`, "the user's own file\n");
    const third = await roar(["run", "-q", "python3", "write.py", "third", "3"], { cwd: repo });
    expect(third.code).toBe(125);
    expect(third.stderr).toContain("notes.txt");
    expect(third.stderr).not.toContain("slow.txt");
    expect((await slow).code).toBe(0);
  }, 120_000);
});
