import { describe, expect, test } from "bun:test";
import { diffArgv, parseArgv } from "../../src/core/diff.ts";
import { diffStructured, flatten, parseCsv, structuredFormat } from "../../src/core/structured.ts";
import { parseYaml, YamlError } from "../../src/core/yaml-lite.ts";

describe("parseYaml (the subset params files use)", () => {
  test("nested mappings, lists, flow collections, quoting, comments, block scalars", () => {
    const doc = parseYaml(`# experiment
lr: 0.001   # learning rate
name: "res net"
quoted: 'it''s'
url: http://x.y/z#frag
model:
  layers: 3
  dims: [64, 128, {a: 1}]
  act: relu
  extra:
tags:
- a
- b
runs:
  - name: x
    seed: 2
  - name: y
    grid:
      - 1
      - - 2
        - 3
note: |
  two
   lines
folded: >-
  a
  b
flags: {debug: true, level: ~}
big: 1e3
hex: 0x1f
`);
    expect(doc).toEqual({
      lr: 0.001,
      name: "res net",
      quoted: "it's",
      url: "http://x.y/z#frag",
      model: { layers: 3, dims: [64, 128, { a: 1 }], act: "relu", extra: null },
      tags: ["a", "b"],
      runs: [
        { name: "x", seed: 2 },
        { name: "y", grid: [1, [2, 3]] },
      ],
      note: "two\n lines\n",
      folded: "a b",
      flags: { debug: true, level: null },
      big: 1000,
      hex: 31,
    });
  });

  test("anchors, aliases, several documents and bad flow collections are refused, with the line", () => {
    expect(() => parseYaml("a: &x 1\nb: *x\n")).toThrow(YamlError);
    expect(() => parseYaml("a: 1\n---\nb: 2\n")).toThrow("line 2: multiple documents are not supported");
    expect(() => parseYaml("a: [1, 2\n")).toThrow("line 1");
    expect(() => parseYaml("a: 1\na: 2\n")).toThrow("duplicate key 'a'");
  });
});

describe("structured diffs", () => {
  test("formats by extension", () => {
    expect(
      ["p.yaml", "p.YML", "m.json", "c.toml", "m.csv", "t.tsv", "model.pt", "Makefile"].map(structuredFormat),
    ).toEqual(["yaml", "yaml", "json", "toml", "csv", "tsv", null, null]);
    // Either case, every extension; ruled out by the last character or by the rest of the extension.
    const names = [
      "a.JSON",
      "a.Yaml",
      "a.TOML",
      "a.CSV",
      "a.Tsv",
      "a.yml",
      "run.log",
      "notes.txt",
      "x.jso",
      "x.sv",
      "l",
      "",
    ];
    expect(names.map(structuredFormat)).toEqual([
      "json",
      "yaml",
      "toml",
      "csv",
      "tsv",
      "yaml",
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  test("flattened keys: dotted, indexed, quoted when needed; empty containers are leaves", () => {
    expect([...flatten({ a: { b: [1, { c: 2 }] }, "x.y": 1, e: {}, l: [] })]).toEqual([
      ["a.b[0]", 1],
      ["a.b[1].c", 2],
      ['["x.y"]', 1],
      ["e", "{}"],
      ["l", "[]"],
    ]);
  });

  test("added, removed and changed keys with old and new values", () => {
    const d = diffStructured(
      "json",
      '{"a": 1, "b": {"c": "x"}, "gone": true}',
      '{"a": 2, "b": {"c": "x"}, "new": null}',
    );
    expect(d.changes).toEqual([
      { key: "a", change: "changed", from: 1, to: 2 },
      { key: "gone", change: "removed", from: true },
      { key: "new", change: "added", to: null },
    ]);
    expect(d.unchanged).toBe(1);
  });

  test("TOML tables and dates", () => {
    const d = diffStructured("toml", "[train]\nlr = 0.1\nat = 1979-05-27T07:32:00Z\n", "[train]\nlr = 0.2\n");
    expect(d.changes.map((c) => [c.key, c.change])).toEqual([
      ["train.lr", "changed"],
      ["train.at", "removed"],
    ]);
  });

  test("CSV: one row by column, several rows by [row].column, quoted fields", () => {
    expect(parseCsv('a,b\n"x, ""y""",2\r\n')).toEqual([
      ["a", "b"],
      ['x, "y"', "2"],
    ]);
    expect(diffStructured("csv", "acc,loss\n0.7,0.3\n", "acc,loss\n0.8,0.3\n").changes).toEqual([
      { key: "acc", change: "changed", from: 0.7, to: 0.8 },
    ]);
    expect(diffStructured("csv", "epoch,loss\n1,0.5\n", "epoch,loss\n1,0.5\n2,0.4\n").changes).toEqual([
      { key: "[1].epoch", change: "added", to: 2 },
      { key: "[1].loss", change: "added", to: 0.4 },
    ]);
    expect(diffStructured("tsv", "a\tb\nx\t1\n", "a\tb\ny\t1\n").changes).toEqual([
      { key: "a", change: "changed", from: "x", to: "y" },
    ]);
  });

  test("an unparsable version is reported, not guessed", () => {
    expect(() => diffStructured("json", "{", "{}")).toThrow("old version is not valid JSON");
  });
});

describe("argv comparison", () => {
  test("options with = or a separate value, flags, positionals, repeated options", () => {
    const p = parseArgv([
      "python",
      "-u",
      "train.py",
      "--lr=0.1",
      "--epochs",
      "5",
      "-v",
      "data.csv",
      "--tag",
      "a",
      "--tag",
      "b",
    ]);
    expect([...p.options]).toEqual([
      ["-u", [null]],
      ["--lr", ["0.1"]],
      ["--epochs", ["5"]],
      ["-v", ["data.csv"]],
      ["--tag", ["a", "b"]],
    ]);
    expect(p.positional).toEqual(["python", "train.py"]);
    const d = diffArgv(["python", "t.py", "--lr", "0.1", "--old"], ["python", "t.py", "--lr", "0.2", "--new", "x"]);
    expect(d.options).toEqual([
      { option: "--lr", change: "changed", from: "0.1", to: "0.2" },
      { option: "--old", change: "removed", from: null },
      { option: "--new", change: "added", to: "x" },
    ]);
    expect(diffArgv(["a", "x.csv"], ["a", "y.csv"]).positional).toEqual([{ index: 1, from: "x.csv", to: "y.csv" }]);
  });
});
