import { afterEach, describe, expect, test } from "bun:test";
import { parseStepRef, resolveStepRef } from "../../src/core/refs.ts";
import { resolveStepRefInStore } from "../../src/run/step-refs.ts";
import { RoarError } from "../../src/shared/errors.ts";
import { type Fixture, fixture } from "./dag-fixture.ts";

let f: Fixture | undefined;
afterEach(() => {
  f?.close();
  f = undefined;
});

describe("parseStepRef", () => {
  test("@N and @BN (and @bN)", () => {
    expect(parseStepRef("@3")).toEqual({ step: 3, build: false });
    expect(parseStepRef("@B2")).toEqual({ step: 2, build: true });
    expect(parseStepRef("@b12")).toEqual({ step: 12, build: true });
  });

  test("@N~K: the K-th job before the step's current one", () => {
    expect(parseStepRef("@3~1")).toEqual({ step: 3, build: false, back: 1 });
    expect(parseStepRef("@B2~12")).toEqual({ step: 2, build: true, back: 12 });
    expect(parseStepRef("@3~0")).toEqual({ step: 3, build: false });
    expect(() => parseStepRef("@3~")).toThrow("Invalid DAG reference '@3~'.");
    expect(() => parseStepRef("@3~x")).toThrow(RoarError);
  });

  test.each(["@", "@x", "@3a", "@B", "@-1", "@0", "3", "@ 3"])("rejects %p with the original's message", (text) => {
    expect(() => parseStepRef(text)).toThrow(RoarError);
    if (text.startsWith("@")) {
      expect(() => parseStepRef(text)).toThrow(`Invalid DAG reference '${text}'. Use @N or @BN where N is a number.`);
    }
  });
});

describe("resolveStepRef", () => {
  const jobs = [
    { uid: "a", seq: 1, step: 1, kind: "build" as const },
    { uid: "b", seq: 2, step: 2, kind: "run" as const },
    { uid: "c", seq: 3, step: 2, kind: "run" as const },
  ];
  test("the latest job of the step", () => {
    expect(resolveStepRef(jobs, { step: 2, build: false }).uid).toBe("c");
    expect(resolveStepRef(jobs, { step: 1, build: true }).uid).toBe("a");
  });
  test("missing step or wrong kind: 'No node @N in DAG.'", () => {
    expect(() => resolveStepRef(jobs, { step: 9, build: false })).toThrow("No node @9 in DAG.");
    expect(() => resolveStepRef(jobs, { step: 1, build: false })).toThrow("No node @1 in DAG.");
    expect(() => resolveStepRef(jobs, { step: 2, build: true })).toThrow("No node @B2 in DAG.");
    try {
      resolveStepRef(jobs, { step: 1, build: false });
    } catch (e) {
      expect((e as RoarError).hint).toContain("@B1 is a build step");
    }
  });
});

describe("resolveStepRefInStore", () => {
  test("resolves in the active session; a reset starts over", () => {
    f = fixture();
    f.job({ argv: ["make"], kind: "build", outputs: { "lib.so": "l" } });
    const first = f.job({ argv: ["python", "train.py", "--lr", "1"], outputs: { "m.pt": "m1" } });
    const second = f.job({ argv: ["python", "train.py", "--lr", "2"], outputs: { "m.pt": "m2" } });
    expect(first).not.toBe(second);
    expect(resolveStepRefInStore(f.store, "@2").uid).toBe(second);
    expect(resolveStepRefInStore(f.store, "@B1").argv).toEqual(["make"]);
    expect(() => resolveStepRefInStore(f?.store as never, "@1")).toThrow("No node @1 in DAG.");
    const old = f.store.activeSession()?.id as number;
    f.store.startSession();
    expect(() => resolveStepRefInStore(f?.store as never, "@2")).toThrow("No node @2 in DAG.");
    expect(resolveStepRefInStore(f.store, "@2", old).uid).toBe(second);
  });

  test("@N~K walks back through the step's superseded jobs, newest first", () => {
    f = fixture();
    const runs = ["1", "2", "3"].map((lr) =>
      f?.job({ argv: ["python", "train.py", "--lr", lr], outputs: { "m.pt": lr } }),
    );
    f.job({ argv: ["python", "eval.py"], inputs: { "m.pt": "3" } });
    expect(resolveStepRefInStore(f.store, "@1~0").uid).toBe(runs[2] as string);
    expect(resolveStepRefInStore(f.store, "@1~1").uid).toBe(runs[1] as string);
    expect(resolveStepRefInStore(f.store, "@1~2").uid).toBe(runs[0] as string);
    expect(() => resolveStepRefInStore(f?.store as never, "@1~3")).toThrow(
      "No job @1~3: step @1 has only 2 earlier jobs.",
    );
    expect(() => resolveStepRefInStore(f?.store as never, "@2~1")).toThrow("No job @2~1: step @2 has no earlier job.");
  });
});
