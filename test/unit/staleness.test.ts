import { afterEach, describe, expect, test } from "bun:test";
import { rerunPlan } from "../../src/core/rerun-plan.ts";
import { staleWarnings, stepList, upstreamStaleSteps } from "../../src/core/staleness.ts";
import { loadSessionDag, loadStalenessDag } from "../../src/run/dag-load.ts";
import { type Fixture, fixture } from "./dag-fixture.ts";

let f: Fixture;
afterEach(() => f?.close());
const py = (...a: string[]) => ["python", ...a];

describe("staleness propagation", () => {
  function chain(n: number): void {
    for (let i = 1; i <= n; i++) {
      f.job({
        argv: py(`s${i}.py`),
        inputs: i > 1 ? { [`f${i - 1}`]: `v1-${i - 1}` } : { src: "src" },
        outputs: { [`f${i}`]: `v1-${i}` },
      });
    }
  }

  test("changing step 1 of a 12-step chain makes steps 2..12 stale", () => {
    f = fixture();
    chain(12);
    f.job({ argv: py("s1.py"), inputs: { src: "src2" }, outputs: { f1: "v2-1" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect([...dag.directlyStale]).toEqual([2]);
    expect([...dag.stale].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Re-running @2 alone is fine (its producer is fresh); @5 would consume stale data from @2..@4.
    expect(upstreamStaleSteps(dag, 2)).toEqual([]);
    expect(upstreamStaleSteps(dag, 5)).toEqual([2, 3, 4]);
    expect(stepList(dag, upstreamStaleSteps(dag, 5))).toBe("@2, @3, @4");
  });

  test("staleWarnings: after re-running a producer, and after consuming stale inputs", () => {
    f = fixture();
    chain(3);
    const rerun = f.job({ argv: py("s1.py"), inputs: { src: "src2" }, outputs: { f1: "v2-1" } });
    let dag = loadSessionDag(f.store, f.sessionId);
    expect(staleWarnings(dag, rerun)).toEqual({ consumedStaleFrom: [], staleDownstream: [2, 3] });
    // @3 re-run before @2: it consumed f2 which @2's current job still writes, so only the @2 upstream is stale.
    const s3 = f.job({ argv: py("s3.py"), inputs: { f2: "v1-2" }, outputs: { f3: "v1-3" } });
    dag = loadSessionDag(f.store, f.sessionId);
    expect(staleWarnings(dag, s3).consumedStaleFrom).toEqual([]);
    expect(upstreamStaleSteps(dag, 3)).toEqual([2]);
    expect(staleWarnings(dag, "nope")).toEqual({ consumedStaleFrom: [], staleDownstream: [] });
  });

  test("the staleness DAG (current jobs' inputs only) judges as the whole session's does", () => {
    f = fixture();
    chain(4);
    f.job({ argv: py("s3.py"), inputs: { f2: "v1-2" }, outputs: { f3: "v1-3" } });
    f.job({ argv: py("s1.py"), inputs: { src: "src2" }, outputs: { f1: "v2-1" } });
    const s2 = f.job({ argv: py("s2.py"), inputs: { f1: "v2-1" }, outputs: { f2: "v2-2" } });
    const s4 = f.job({ argv: py("s4.py"), inputs: { f3: "v1-3" }, outputs: { f4: "v2-4" } });
    const whole = loadSessionDag(f.store, f.sessionId);
    const light = loadStalenessDag(f.store, f.sessionId);
    expect([...light.stale].sort()).toEqual([...whole.stale].sort());
    expect([...light.directlyStale].sort()).toEqual([...whole.directlyStale].sort());
    expect(light.dependents).toEqual(whole.dependents);
    for (const uid of [s2, s4]) expect(staleWarnings(light, uid)).toEqual(staleWarnings(whole, uid));
    for (const node of light.nodes) {
      const same = whole.nodes.find((n) => n.job.uid === node.job.uid);
      expect(node.outputs).toEqual(same?.outputs ?? []);
      expect(node.staleEdges).toEqual(node.current ? (same?.staleEdges ?? []) : []);
      if (!node.current) expect(node.inputs).toEqual([]);
    }
    expect(light.nodes.filter((n) => !n.current).length).toBeGreaterThan(0);
  });

  test("diamond: one stale branch makes the join stale, not the other branch", () => {
    f = fixture();
    f.job({ argv: py("a.py"), outputs: { a: "a1" } });
    f.job({ argv: py("b.py"), outputs: { b: "b1" } });
    f.job({ argv: py("fa.py"), inputs: { a: "a1" }, outputs: { fa: "fa1" } });
    f.job({ argv: py("fb.py"), inputs: { b: "b1" }, outputs: { fb: "fb1" } });
    f.job({ argv: py("join.py"), inputs: { fa: "fa1", fb: "fb1" }, outputs: { j: "j1" } });
    f.job({ argv: py("a.py"), outputs: { a: "a2" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect([...dag.stale].sort()).toEqual([3, 5]);
  });
});

describe("rerunPlan: stale steps in dependency order", () => {
  test("upstream first, build steps first among the free ones; a target keeps what it needs", () => {
    f = fixture();
    f.job({ argv: py("a.py"), outputs: { a: "a1" } });
    f.job({ argv: py("b.py"), inputs: { a: "a1" }, outputs: { b: "b1" } });
    f.job({ argv: py("c.py"), inputs: { a: "a1" }, outputs: { c: "c1" } });
    f.job({ argv: py("d.py"), inputs: { b: "b1", c: "c1" }, outputs: { d: "d1" } });
    // A build step that reads `a` too, recorded later: among the steps free to go, it re-runs first.
    f.job({ argv: ["make"], kind: "build", inputs: { a: "a1" }, outputs: { lib: "l1" } });
    f.job({ argv: py("e.py"), inputs: { lib: "l1" }, outputs: { e: "e1" } });
    f.job({ argv: py("a.py"), outputs: { a: "a2" } });
    const dag = loadSessionDag(f.store, f.sessionId);
    expect([...dag.stale].sort()).toEqual([2, 3, 4, 5, 6]);
    expect(rerunPlan(dag)).toEqual([5, 2, 3, 4, 6]);
    expect(rerunPlan(dag, 4)).toEqual([2, 3, 4]);
    expect(rerunPlan(dag, 6)).toEqual([5, 6]);
    expect(rerunPlan(dag, 1)).toEqual([]);
  });
});
