import { afterEach, describe, expect, test } from "bun:test";
import { buildDag, downstreamSteps, upstreamSteps } from "../../src/core/dag.ts";
import { loadSessionDag } from "../../src/run/dag-load.ts";
import { digest, type Fixture, fixture } from "./dag-fixture.ts";

let f: Fixture;
afterEach(() => f?.close());

const py = (...args: string[]) => ["python", ...args];

describe("buildDag: steps and edges by content", () => {
  test("linear pipeline: dependencies follow the digests", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), inputs: { "data.csv": "raw" }, outputs: { "clean.csv": "clean" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "clean" }, outputs: { "model.pt": "model" } });
    f.job({
      argv: py("eval.py"),
      inputs: { "model.pt": "model", "clean.csv": "clean" },
      outputs: { "m.json": "metrics" },
    });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.steps).toEqual([1, 2, 3]);
    expect(dag.current.get(1)?.dependencies).toEqual([]);
    expect(dag.current.get(2)?.dependencies).toEqual([1]);
    expect(dag.current.get(3)?.dependencies).toEqual([1, 2]);
    expect(dag.stale.size).toBe(0);
    expect(dag.nodes.every((n) => n.state === "active")).toBe(true);
    const terminal = dag.artifacts.filter((a) => a.isTerminal).map((a) => a.path);
    expect(terminal).toEqual(["m.json"]);
    const model = dag.artifacts.find((a) => a.path === "model.pt");
    expect(model?.consumerSteps).toEqual([3]);
    expect(model?.state).toBe("active");
  });

  test("a renamed or copied file keeps its edge (the path is only an attribute)", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), outputs: { "out/clean.csv": "clean" } });
    // the user ran `mv out/clean.csv data/renamed.csv` between steps
    f.job({ argv: py("train.py"), inputs: { "data/renamed.csv": "clean" }, outputs: { "model.pt": "m" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    const edge = dag.current.get(2)?.edges[0];
    expect(edge).toMatchObject({ path: "data/renamed.csv", producedAt: "out/clean.csv", producerStep: 1 });
    expect(dag.stale.size).toBe(0);
  });

  test("same path, different content: no edge (content decides, not the path)", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "clean" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "edited-by-hand" }, outputs: { "model.pt": "m" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.current.get(2)?.dependencies).toEqual([]);
  });

  test("diamond and fan-in", () => {
    f = fixture();
    f.job({ argv: py("feat_a.py"), inputs: { "data.csv": "raw" }, outputs: { "a.npy": "a" } });
    f.job({ argv: py("feat_b.py"), inputs: { "data.csv": "raw" }, outputs: { "b.npy": "b" } });
    f.job({ argv: py("feat_c.py"), inputs: { "data.csv": "raw" }, outputs: { "c.npy": "c" } });
    f.job({
      argv: py("combine.py"),
      inputs: { "a.npy": "a", "b.npy": "b", "c.npy": "c" },
      outputs: { "all.npy": "all" },
    });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.current.get(4)?.dependencies).toEqual([1, 2, 3]);
    expect([...(dag.dependents.get(1) ?? [])]).toEqual([4]);
    expect(upstreamSteps(dag, 4)).toEqual([1, 2, 3]);
    expect(downstreamSteps(dag, 2)).toEqual([4]);
  });

  test("build and run share the step sequence", () => {
    f = fixture();
    f.job({ argv: ["make", "all"], kind: "build", outputs: { "lib.so": "lib" } });
    f.job({ argv: py("train.py"), inputs: { "lib.so": "lib" }, outputs: { "model.pt": "m" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.current.get(1)?.label).toBe("@B1");
    expect(dag.current.get(2)?.label).toBe("@2");
    expect(dag.current.get(2)?.dependencies).toEqual([1]);
  });
});

describe("reruns, supersession and staleness", () => {
  test("a rerun with a changed output makes downstream stale, transitively", () => {
    f = fixture();
    f.job({ argv: py("prep.py", "data.csv"), inputs: { "data.csv": "raw1" }, outputs: { "clean.csv": "clean1" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "clean1" }, outputs: { "model.pt": "m1" } });
    f.job({ argv: py("eval.py"), inputs: { "model.pt": "m1" }, outputs: { "metrics.json": "x1" } });
    f.job({ argv: py("prep.py", "data.csv"), inputs: { "data.csv": "raw2" }, outputs: { "clean.csv": "clean2" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.steps).toEqual([1, 2, 3]);
    expect(dag.byStep.get(1)?.map((n) => n.state)).toEqual(["superseded", "active"]);
    expect([...dag.directlyStale]).toEqual([2]);
    expect([...dag.stale].sort()).toEqual([2, 3]);
    expect(dag.current.get(2)?.staleEdges[0]).toMatchObject({ path: "clean.csv", producerStep: 1 });
    expect(dag.current.get(3)?.state).toBe("stale");
    expect(dag.artifacts.find((a) => a.path === "metrics.json")?.state).toBe("stale");
    // Superseded propagation is NOT copied from the original: downstream latest jobs stay stale, not superseded.
    expect(dag.nodes.filter((n) => n.state === "superseded").map((n) => n.step)).toEqual([1]);
  });

  test("a rerun producing identical bytes does not make anything stale", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), inputs: { "data.csv": "raw" }, outputs: { "clean.csv": "clean" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "clean" }, outputs: { "model.pt": "m" } });
    f.job({ argv: py("prep.py"), inputs: { "data.csv": "raw" }, outputs: { "clean.csv": "clean" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.stale.size).toBe(0);
  });

  test("re-running the stale step clears it; the rerun of its producer no longer matters", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c1" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "c1" }, outputs: { "model.pt": "m1" } });
    f.job({ argv: py("eval.py"), inputs: { "model.pt": "m1" }, outputs: { "metrics.json": "x1" } });
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c2" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "c2" }, outputs: { "model.pt": "m2" } });
    let dag = loadSessionDag(f.store, f.sessionId);
    expect([...dag.stale]).toEqual([3]);
    f.job({ argv: py("eval.py"), inputs: { "model.pt": "m2" }, outputs: { "metrics.json": "x2" } });
    dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.stale.size).toBe(0);
  });

  test("a re-run that does not write a path keeps the step's earlier content there; deleting it makes consumers stale", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c1", "extra.csv": "e1" } });
    f.job({ argv: py("use_extra.py"), inputs: { "extra.csv": "e1" }, outputs: { y: "y" } });
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c1" } });
    let dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.stale.size).toBe(0);
    expect(dag.current.get(1)?.carried.map((c) => c.path)).toEqual(["extra.csv"]);
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c1", "extra.csv": null } });
    dag = loadSessionDag(f.store, f.sessionId);
    expect([...dag.stale]).toEqual([2]);
    expect(dag.current.get(2)?.reasons).toEqual([
      { cause: "upstream", path: "extra.csv", blake3: digest("e1"), producerStep: 1 },
    ]);
  });

  test("make: Nothing to be done — an up-to-date build that writes nothing keeps every consumer fresh", () => {
    f = fixture();
    f.job({ argv: ["make"], kind: "build", outputs: { "libz.a": "lib1", "zlib.h": "h1" } });
    f.job({ argv: py("use.py"), inputs: { "libz.a": "lib1" }, outputs: { "app.bin": "app1" } });
    f.job({ argv: ["make"], kind: "build", outputs: {} });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.stale.size).toBe(0);
    // The build step still has its outputs: both are artifacts of its current state, not superseded.
    const libz = dag.artifacts.filter((a) => a.path === "libz.a");
    expect(libz.map((a) => [a.state, a.ofCurrent])).toEqual([["active", true]]);
  });

  test("changes found outside roar make the step stale with their reason, and its dependents after it", () => {
    f = fixture();
    const prep = f.job({ argv: py("prep.py"), inputs: { "params.yaml": "p1" }, outputs: { "clean.csv": "c1" } });
    f.job({ argv: py("train.py"), inputs: { "clean.csv": "c1" }, outputs: { "model.pt": "m1" } });
    const jobs = f.store.sessionJobSummaries(f.sessionId);
    const io = f.store.sessionIoUnordered(f.sessionId);
    const changes = new Map([
      [
        prep,
        [
          { cause: "input" as const, path: "params.yaml", blake3: digest("p1"), current: digest("p2") },
          { cause: "code" as const, path: "prep.py", commit: "abc", committed: true },
        ],
      ],
    ]);
    const dag = buildDag({ jobs, io, changes });
    expect([...dag.directlyStale]).toEqual([1]);
    expect([...dag.stale].sort()).toEqual([1, 2]);
    expect(dag.current.get(1)?.reasons.map((r) => r.cause)).toEqual(["input", "code"]);
    expect(dag.current.get(2)?.reasons).toEqual([{ cause: "upstream-stale", steps: [1] }]);
  });

  test("a failing step re-run until it succeeds: one step, earlier runs superseded", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), outputs: { "clean.csv": "c" } });
    f.job({ argv: py("flaky.py"), inputs: { "clean.csv": "c" }, exitCode: 1 });
    f.job({ argv: py("flaky.py"), inputs: { "clean.csv": "c" }, exitCode: 1 });
    f.job({ argv: py("flaky.py"), inputs: { "clean.csv": "c" }, outputs: { "ok.txt": "ok" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.steps).toEqual([1, 2]);
    expect(dag.byStep.get(2)?.map((n) => [n.state, n.job.exitCode])).toEqual([
      ["superseded", 1],
      ["superseded", 1],
      ["active", 0],
    ]);
  });

  test("hyperparameter sweep writing different files: separate steps; same files: one step", () => {
    f = fixture();
    f.job({ argv: py("train.py", "--lr", "0.1", "--out", "m_01.pt"), outputs: { "m_01.pt": "a" } });
    f.job({ argv: py("train.py", "--lr", "0.2", "--out", "m_02.pt"), outputs: { "m_02.pt": "b" } });
    // --key value pairs differing only in value are the same step identity
    const dag = loadSessionDag(f.store, f.sessionId);
    expect(dag.steps).toEqual([1]);
    f.close();
    f = fixture();
    f.job({ argv: py("train.py", "m_01.pt"), outputs: { "m_01.pt": "a" } });
    f.job({ argv: py("train.py", "m_02.pt"), outputs: { "m_02.pt": "b" } });
    expect(loadSessionDag(f.store, f.sessionId).steps).toEqual([1, 2]);
  });

  test("the producer is the latest earlier job of another step; staleness survives cycles", () => {
    const job = (uid: string, seq: number, step: number) => ({
      uid,
      seq,
      step,
      kind: "run" as const,
      name: null,
      argv: [uid],
      startedAt: seq,
      durationMs: 1,
      exitCode: 0,
      status: "ok" as const,
    });
    const io = new Map([
      ["a1", { inputs: [], outputs: [{ path: "x", blake3: digest("x1"), size: 1, flags: 0 }] }],
      [
        "b1",
        {
          inputs: [{ path: "x", blake3: digest("x1"), size: 1, flags: 0 }],
          outputs: [{ path: "y", blake3: digest("y1"), size: 1, flags: 0 }],
        },
      ],
      [
        "a2",
        {
          inputs: [{ path: "y", blake3: digest("y1"), size: 1, flags: 0 }],
          outputs: [{ path: "x", blake3: digest("x2"), size: 1, flags: 0 }],
        },
      ],
    ]);
    const dag = buildDag({ jobs: [job("a1", 1, 1), job("b1", 2, 2), job("a2", 3, 1)], io });
    expect(dag.current.get(1)?.dependencies).toEqual([2]);
    expect(dag.current.get(2)?.dependencies).toEqual([1]);
    expect([...dag.stale].sort()).toEqual([1, 2]);
  });
});
