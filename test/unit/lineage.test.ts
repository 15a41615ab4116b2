import { afterEach, describe, expect, test } from "bun:test";
import { traceLineage } from "../../src/core/lineage.ts";
import { storeLineageLookup } from "../../src/run/lineage-load.ts";
import { digest, type Fixture, fixture } from "./dag-fixture.ts";

let f: Fixture;
afterEach(() => f?.close());
const py = (...a: string[]) => ["python", ...a];

describe("traceLineage", () => {
  test("exactly the upstream jobs of the artifact, following content across renames", () => {
    f = fixture();
    const prep = f.job({ argv: py("prep.py"), inputs: { "raw.csv": "raw" }, outputs: { "clean.csv": "clean" } });
    const fa = f.job({ argv: py("fa.py"), inputs: { "clean.csv": "clean" }, outputs: { "a.npy": "a" } });
    f.job({ argv: py("unrelated.py"), inputs: { "clean.csv": "clean" }, outputs: { "u.txt": "u" } });
    const fb = f.job({ argv: py("fb.py"), inputs: { "moved/clean.csv": "clean" }, outputs: { "b.npy": "b" } });
    const join = f.job({ argv: py("join.py"), inputs: { "a.npy": "a", "b.npy": "b" }, outputs: { "out.npy": "out" } });
    const l = traceLineage(storeLineageLookup(f.store), { blake3: digest("out"), path: "out.npy", size: 3 });
    expect(l.producerUid).toBe(join);
    expect(l.jobs.map((j) => j.uid).sort()).toEqual([prep, fa, fb, join].sort());
    expect(l.jobs.find((j) => j.uid === join)?.depth).toBe(1);
    expect(l.jobs.find((j) => j.uid === prep)?.depth).toBe(3);
    expect(l.artifacts.find((a) => a.path === "raw.csv")?.producerUid).toBeNull();
    expect(l.artifacts.find((a) => a.path === "moved/clean.csv")?.producerUid).toBe(prep);
    // outputs are restricted to the path to the artifact
    expect(l.jobs.find((j) => j.uid === prep)?.outputs).toEqual([{ path: "clean.csv", blake3: digest("clean") }]);
    expect(l.truncated).toBe(false);
  });

  test("--depth limits the walk", () => {
    f = fixture();
    for (let i = 1; i <= 5; i++)
      f.job({
        argv: py(`s${i}.py`),
        inputs: i > 1 ? { [`f${i - 1}`]: `v${i - 1}` } : {},
        outputs: { [`f${i}`]: `v${i}` },
      });
    const l = traceLineage(storeLineageLookup(f.store), { blake3: digest("v5"), path: "f5", size: 2 }, { depth: 2 });
    expect(l.jobs.map((j) => j.command[1])).toEqual(["s5.py", "s4.py"]);
    expect(l.truncated).toBe(true);
  });

  test("a source artifact has no producer", () => {
    f = fixture();
    f.job({ argv: py("prep.py"), inputs: { "raw.csv": "raw" }, outputs: { "clean.csv": "clean" } });
    const l = traceLineage(storeLineageLookup(f.store), { blake3: digest("raw"), path: "raw.csv", size: 3 });
    expect(l.producerUid).toBeNull();
    expect(l.jobs).toEqual([]);
  });

  test("the producer of a rerun's input is the job before it, not a later rerun", () => {
    f = fixture();
    const p1 = f.job({ argv: py("prep.py"), outputs: { "c.csv": "c1" } });
    const t1 = f.job({ argv: py("train.py"), inputs: { "c.csv": "c1" }, outputs: { "m.pt": "m1" } });
    f.job({ argv: py("prep.py"), outputs: { "c.csv": "c2" } });
    const l = traceLineage(storeLineageLookup(f.store), { blake3: digest("m1"), path: "m.pt", size: 2 });
    expect(l.jobs.map((j) => j.uid)).toEqual([t1, p1]);
  });
});
