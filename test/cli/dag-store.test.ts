/**
 * The query commands (dag, log, show, status, lineage, reset, pop) on stores filled directly through RoarStore,
 * so they are covered whether or not `roar run` can trace on this machine.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Value from "typebox/value";
import { DagJson } from "../../src/schema/dag.ts";
import { LogJson } from "../../src/schema/log.ts";
import { ShowJobJson, ShowSessionJson } from "../../src/schema/show.ts";
import { StatusJson } from "../../src/schema/status.ts";
import { roar, roarJson } from "../helpers/cli.ts";
import { digest, type Fixture, fixture } from "../unit/dag-fixture.ts";

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const f of fixtures) f.close();
});
const py = (...a: string[]) => ["python", ...a];

/** prep → train (run twice: --epochs 10 then 20, different model) → eval; a build step first. */
function pipeline(): Fixture {
  const f = fixture();
  fixtures.push(f);
  f.job({ argv: ["make", "lib"], kind: "build", outputs: { "lib.so": "lib" } });
  f.job({
    argv: py("prep.py", "data.csv", "clean.csv"),
    inputs: { "data.csv": "raw" },
    outputs: { "clean.csv": "clean" },
  });
  f.job({
    argv: py("train.py", "clean.csv", "--epochs", "10"),
    inputs: { "clean.csv": "clean", "lib.so": "lib" },
    outputs: { "model.pt": "m10" },
  });
  f.job({ argv: py("eval.py", "model.pt"), inputs: { "model.pt": "m10" }, outputs: { "metrics.json": "x" } });
  f.job({
    argv: py("train.py", "clean.csv", "--epochs", "20"),
    inputs: { "clean.csv": "clean", "lib.so": "lib" },
    outputs: { "model.pt": "m20" },
  });
  return f;
}

describe("roar dag", () => {
  test("JSON follows the documented schema; stale and superseded states", async () => {
    const f = pipeline();
    const doc = await roarJson<DagJson>(["dag", "--json"], { cwd: f.root });
    expect(Value.Check(DagJson, doc)).toBe(true);
    expect(doc).toMatchObject({ schemaVersion: 1, totalSteps: 4, staleCount: 1 });
    expect(doc.nodes.map((n) => [n.label, n.state, n.dependencies])).toEqual([
      ["@B1", "active", []],
      ["@2", "active", []],
      ["@3", "active", [1, 2]],
      ["@4", "stale", [3]],
    ]);
    expect(doc.artifacts.map((a) => [a.path, a.state, a.isTerminal])).toEqual([["metrics.json", "stale", true]]);
    const expanded = await roarJson<DagJson>(["dag", "--json", "--expanded"], { cwd: f.root });
    expect(expanded.nodes.filter((n) => n.step === 3).map((n) => n.state)).toEqual(["superseded", "active"]);
    // Not the original's quirk: the latest downstream job stays stale, it is not marked superseded.
    expect(expanded.nodes.find((n) => n.step === 4)?.state).toBe("stale");
    const staleOnly = await roarJson<DagJson>(["dag", "--json", "--stale-only"], { cwd: f.root });
    expect(staleOnly.nodes.map((n) => n.step)).toEqual([4]);
    const all = await roarJson<DagJson>(["dag", "--json", "--show-artifacts"], { cwd: f.root });
    expect(all.artifacts.map((a) => a.path).sort()).toEqual(["clean.csv", "lib.so", "metrics.json", "model.pt"]);
  });

  test("text: tree connectors, labels, counts, stale marker, terminal artifact, legend; no colour when piped", async () => {
    const f = pipeline();
    const r = await roar(["dag"], { cwd: f.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("Pipeline: 4 steps (1 stale)");
    expect(r.stdout).toContain("@B1 make lib  in:0 out:1");
    expect(r.stdout).toMatch(/└──> @3 python train\.py clean\.csv --epochs 20 {2}in:2 out:1\n/);
    expect(r.stdout).toMatch(/└──> @4 python eval\.py model\.pt {2}in:1 out:1 \*/);
    expect(r.stdout).toContain("(metrics.json) [stale]");
    expect(r.stdout).toContain("Legend: * = stale");
    expect(r.stdout).not.toContain("\x1b[");
    // @3 depends on @B1 and @2: drawn once in the tree.
    const [tree, stale] = r.stdout.split("\nStale:\n");
    expect(tree?.match(/@3 /g)?.length).toBe(1);
    // Below the tree, each stale step with its reason.
    expect(stale).toContain("@4  model.pt: @3 was re-run and no longer has the content it read");
    const x = await roar(["dag", "--expanded"], { cwd: f.root });
    expect(x.stdout).toContain("(5 runs shown)");
    expect(x.stdout).toMatch(/@3 python train\.py clean\.csv --epochs 10 {2}in:2 out:1 \[superseded\]/);
  });

  test("long commands are cut to the terminal width", async () => {
    const f = fixture();
    fixtures.push(f);
    f.job({ argv: py("prep.py", "--comment", "x".repeat(300)), outputs: { "o.txt": "o" } });
    const r = await roar(["dag"], { cwd: f.root, env: { COLUMNS: "80" } });
    const line = r.stdout.split("\n").find((l) => l.startsWith("@1")) ?? "";
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toContain("…");
  });

  test("empty session: 'Pipeline: 0 steps', exit 0", async () => {
    const f = fixture();
    fixtures.push(f);
    const r = await roar(["dag"], { cwd: f.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Pipeline: 0 steps");
    const doc = await roarJson<DagJson>(["dag", "--json"], { cwd: f.root });
    expect(doc.totalSteps).toBe(0);
    expect(doc.nodes).toEqual([]);
  });
});

describe("roar log / show / status", () => {
  test("log: newest first with uid, step, duration, OK/FAIL", async () => {
    const f = pipeline();
    f.job({ argv: py("flaky.py"), exitCode: 1 });
    const r = await roar(["log"], { cwd: f.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Job Log (6 jobs)");
    const rows = r.stdout.split("\n").filter((l) => /^[0-9a-f]{8} /.test(l));
    expect(rows[0]).toContain("FAIL");
    expect(rows[0]).toContain("python flaky.py");
    expect(rows.at(-1)).toContain("@B1");
    expect(rows.at(-1)).toContain("1.5s");
    const doc = await roarJson<LogJson>(["log", "--json", "-n", "2"], { cwd: f.root });
    expect(Value.Check(LogJson, doc)).toBe(true);
    expect(doc.total).toBe(6);
    expect(doc.jobs.map((j) => j.ok)).toEqual([false, true]);
  });

  test("show @N --json and show <uid> --json: the job contract", async () => {
    const f = pipeline();
    const doc = await roarJson<ShowJobJson>(["show", "@3", "--json"], { cwd: f.root });
    expect(Value.Check(ShowJobJson, doc)).toBe(true);
    expect(doc).toMatchObject({
      schemaVersion: 1,
      step: 3,
      kind: "run",
      command: ["python", "train.py", "clean.csv", "--epochs", "20"],
      cwd: "",
      exitCode: 0,
      signal: null,
      status: "ok",
      durationMs: 1500,
      git: { branch: "main", clean: true },
      packages: { pip: { numpy: "2.0.0" } },
      runtime: { os: "linux" },
      env: {},
      trace: { backend: "ptrace", complete: true, reasons: [] },
      current: true,
    });
    expect(doc.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(doc.inputs.map((i) => [i.path, i.blake3])).toEqual([
      ["clean.csv", digest("clean")],
      ["lib.so", digest("lib")],
    ]);
    expect(doc.outputs).toEqual([{ path: "model.pt", blake3: digest("m20"), size: 3, flags: 0 }]);
    const byUid = await roarJson<ShowJobJson>(["show", doc.uid.slice(0, 10), "--json"], { cwd: f.root });
    expect(byUid).toEqual(doc);
    const build = await roarJson<ShowJobJson>(["show", "@B1", "--json"], { cwd: f.root });
    expect(build.kind).toBe("build");
  });

  test("show: unknown and ambiguous references are errors listing the candidates", async () => {
    const f = pipeline();
    const missing = await roar(["show", "@9"], { cwd: f.root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No node @9 in DAG.");
    const wrongKind = await roar(["show", "@1"], { cwd: f.root });
    expect(wrongKind.stderr).toContain("@B1 is a build step");
    const bad = await roar(["show", "@x"], { cwd: f.root });
    expect(bad.stderr).toContain("Invalid DAG reference '@x'");
    const unknown = await roar(["show", "ffffffffffff"], { cwd: f.root });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Not found");
    // Find a one-hex-digit prefix shared by two jobs: an ambiguity.
    const uids = f.store.sessionJobSummaries(f.sessionId).map((j) => j.uid);
    const shared = uids.map((u) => u.slice(0, 4)).find((p, i, all) => all.indexOf(p) !== i);
    if (shared) {
      const amb = await roar(["show", shared], { cwd: f.root });
      expect(amb.code).toBe(1);
      expect(amb.stderr).toContain("ambiguous");
    }
    const art = await roarJson<{ type: string; producedBy: unknown[] }>(
      ["show", digest("clean").slice(0, 12), "--json"],
      { cwd: f.root },
    );
    expect(art.type).toBe("artifact");
    expect(art.producedBy).toHaveLength(1);
  });

  test("reset: refuses without -y off a terminal; old sessions stay queryable with --session", async () => {
    const f = pipeline();
    const refused = await roar(["reset"], { cwd: f.root });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("pass -y");
    const r = await roar(["reset", "-y"], { cwd: f.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Created new session");
    expect((await roar(["dag"], { cwd: f.root })).stdout).toContain("Pipeline: 0 steps");
    const old = await roarJson<ShowSessionJson>(["show", "--session", String(f.sessionId), "--json"], { cwd: f.root });
    expect(Value.Check(ShowSessionJson, old)).toBe(true);
    expect(old.session.active).toBe(false);
    expect(old.jobs).toHaveLength(5);
    expect(old.sessions).toHaveLength(2);
    const step = await roarJson<ShowJobJson>(["show", "--session=1", "@3", "--json"], { cwd: f.root });
    expect(step.command).toContain("20");
    const list = await roar(["show", "--session"], { cwd: f.root });
    expect(list.stdout).toContain("Sessions (2):");
  });

  test("status: step counts, stale steps, missing outputs (no hashing needed)", async () => {
    const f = pipeline();
    const doc = await roarJson<StatusJson>(["status", "--json"], { cwd: f.root });
    expect(Value.Check(StatusJson, doc)).toBe(true);
    expect(doc).toMatchObject({ buildSteps: 1, runSteps: 3, staleSteps: [4], jobs: 5 });
    expect(doc.outputs).toEqual({ tracked: 4, present: 0, missing: 4, modified: 0 });
    const text = await roar(["status"], { cwd: f.root });
    expect(text.stdout).toContain("Build steps: 1");
    expect(text.stdout).toContain("Run steps:   3");
    expect(text.stdout).toContain("Stale steps: @4");
    expect(text.stdout).toContain("missing   model.pt");
  });

  test("status: a file of a different size is modified without hashing", async () => {
    const f = pipeline();
    writeFileSync(join(f.root, "metrics.json"), "a different size");
    const doc = await roarJson<StatusJson>(["status", "--json"], { cwd: f.root });
    expect(doc.artifacts.find((a) => a.path === "metrics.json")?.state).toBe("modified");
  });

  test("pop refuses without -y off a terminal", async () => {
    const f = pipeline();
    const r = await roar(["pop"], { cwd: f.root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pass -y");
    expect(f.store.sessionJobSummaries(f.sessionId)).toHaveLength(5);
  });
});
