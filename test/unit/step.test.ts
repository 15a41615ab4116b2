import { describe, expect, test } from "bun:test";
import { stepIdentity, stepLabel, stepTokens } from "../../src/core/step.ts";

describe("step identity", () => {
  test("option values do not change the identity; positionals and option names do", () => {
    const a = stepIdentity("run", ["python", "train.py", "data.csv", "m.pt", "--lr", "0.1"]);
    expect(stepIdentity("run", ["python", "train.py", "data.csv", "m.pt", "--lr", "0.2"])).toBe(a);
    expect(stepIdentity("run", ["python", "train.py", "data.csv", "m.pt", "--lr=0.3"])).toBe(a);
    expect(stepIdentity("run", ["/usr/bin/python", "train.py", "data.csv", "m.pt", "--lr", "1"])).toBe(a);
    expect(stepIdentity("run", ["python", "train.py", "data.csv", "m_fast.pt", "--lr", "0.1"])).not.toBe(a);
    expect(stepIdentity("run", ["python", "train.py", "data.csv", "m.pt", "--epochs", "3"])).not.toBe(a);
    expect(stepIdentity("build", ["python", "train.py", "data.csv", "m.pt", "--lr", "0.1"])).not.toBe(a);
  });

  test("interpreter -m / -c keep their argument; a script after an option is not a value", () => {
    expect(stepTokens(["python3", "-m", "pkg.train", "--epochs", "5"])).toEqual([
      "python3",
      "-m",
      "pkg.train",
      "--epochs",
    ]);
    expect(stepIdentity("run", ["python3", "-m", "a"])).not.toBe(stepIdentity("run", ["python3", "-m", "b"]));
    expect(stepTokens(["python", "-u", "train.py", "x"])).toEqual(["python", "-u", "train.py", "x"]);
    expect(stepTokens(["tool", "--", "-x", "y"])).toEqual(["tool", "--", "-x", "y"]);
    expect(stepTokens(["calc", "-5", "3"])).toEqual(["calc", "-5", "3"]);
  });

  test("labels", () => {
    expect(stepLabel(3, "run")).toBe("@3");
    expect(stepLabel(1, "build")).toBe("@B1");
  });
});
