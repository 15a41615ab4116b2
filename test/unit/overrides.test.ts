import { describe, expect, test } from "bun:test";
import { applyOverrides, parseOverrides, parseRerunArgs } from "../../src/core/overrides.ts";
import { stepIdentity } from "../../src/core/step.ts";

describe("parseOverrides", () => {
  test("--key=value and --key value", () => {
    expect(parseOverrides(["--epochs=20", "--lr", "0.01", "--name", "my run", "--neg", "-1", "--empty="])).toEqual([
      { key: "--epochs", value: "20" },
      { key: "--lr", value: "0.01" },
      { key: "--name", value: "my run" },
      { key: "--neg", value: "-1" },
      { key: "--empty", value: "" },
    ]);
  });
  test("short flags, positionals and valueless options are clear errors", () => {
    expect(() => parseOverrides(["-e", "3"])).toThrow("cannot override short option '-e'");
    expect(() => parseOverrides(["data.csv"])).toThrow("cannot override positional argument 'data.csv'");
    expect(() => parseOverrides(["--verbose"])).toThrow("override --verbose needs a value");
    expect(() => parseOverrides(["--lr", "--epochs=2"])).toThrow("override --lr needs a value");
    expect(() => parseOverrides(["--=3"])).toThrow("invalid override");
  });
});

describe("applyOverrides works on argv tokens", () => {
  const argv = ["python", "train.py", "data.csv", "--epochs", "10", "--lr=0.1", "--name", "two words"];
  test("replaces both forms in place, keeping each form", () => {
    expect(applyOverrides(argv, [{ key: "--epochs", value: "20" }])).toEqual([
      "python",
      "train.py",
      "data.csv",
      "--epochs",
      "20",
      "--lr=0.1",
      "--name",
      "two words",
    ]);
    expect(applyOverrides(argv, [{ key: "--lr", value: "0.5" }])).toContain("--lr=0.5");
  });
  test("values with spaces survive (no string splitting)", () => {
    const out = applyOverrides(argv, [{ key: "--name", value: "a 'quoted' value" }]);
    expect(out[7]).toBe("a 'quoted' value");
    expect(out).toHaveLength(argv.length);
  });
  test("absent options are appended as --key=value; a bare flag becomes --key=value", () => {
    expect(applyOverrides(argv, [{ key: "--seed", value: "7" }]).at(-1)).toBe("--seed=7");
    expect(applyOverrides(["prog", "--verbose", "--x=1"], [{ key: "--verbose", value: "2" }])).toEqual([
      "prog",
      "--verbose=2",
      "--x=1",
    ]);
  });
  test("does not touch the program, a longer option sharing the prefix, or the input array", () => {
    const copy = [...argv];
    const out = applyOverrides([...argv, "--epochs-max", "5"], [{ key: "--epochs", value: "1" }]);
    expect(out.slice(-2)).toEqual(["--epochs-max", "5"]);
    expect(argv).toEqual(copy);
  });
  test("both override forms give the same argv and keep the step identity", () => {
    const a = applyOverrides(argv, parseOverrides(["--epochs=20"]));
    const b = applyOverrides(argv, parseOverrides(["--epochs", "20"]));
    expect(a).toEqual(b);
    expect(stepIdentity("run", a)).toBe(stepIdentity("run", argv));
  });
});

describe("parseRerunArgs", () => {
  test("ref then overrides", () => {
    expect(parseRerunArgs(["@2", "--epochs", "20"])).toEqual({
      ref: { step: 2, build: false },
      refText: "@2",
      overrides: [{ key: "--epochs", value: "20" }],
    });
    expect(parseRerunArgs(["@B1"]).ref).toEqual({ step: 1, build: true });
    expect(() => parseRerunArgs(["train.py"])).toThrow("expected a step reference");
    expect(() => parseRerunArgs(["@2", "-x"])).toThrow("short option");
  });
});
