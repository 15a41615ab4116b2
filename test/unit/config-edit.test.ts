import { describe, expect, test } from "bun:test";
import { parse } from "smol-toml";
import { removeTomlKey, setTomlKey } from "../../src/config/edit.ts";
import { configTemplate } from "../../src/config/template.ts";

describe("comment-preserving TOML edits", () => {
  test("sets after the commented template line, replaces in place, removes", () => {
    const template = configTemplate();
    const once = setTomlKey(template, "glaas.url", '"http://x"');
    expect((parse(once) as { glaas: { url: string } }).glaas.url).toBe("http://x");
    expect(once.split("\n").length).toBe(template.split("\n").length + 1);
    const twice = setTomlKey(once, "glaas.url", '"http://y"');
    expect(twice.split("\n").length).toBe(once.split("\n").length);
    expect(removeTomlKey(twice, "glaas.url")).toBe(template);
  });

  test("dotted keys under a parent table, inline comments and multi-line arrays", () => {
    const text = '# top\n[registration]\nomit.enabled = true # keep me\n\n[hash]\nrun = [\n  "sha256",\n]\n';
    const a = setTomlKey(text, "registration.omit.enabled", "false");
    expect(a).toContain("omit.enabled = false # keep me");
    const b = setTomlKey(a, "hash.run", '["md5"]');
    expect(parse(b)).toEqual({ registration: { omit: { enabled: false } }, hash: { run: ["md5"] } });
    expect(b.startsWith("# top\n")).toBe(true);
  });

  test("creates a missing table at the end", () => {
    const out = setTomlKey("[a]\nx = 1\n", "env.FOO", '"bar"');
    expect(parse(out)).toEqual({ a: { x: 1 }, env: { FOO: "bar" } });
  });
});

test("a table defined only by dotted keys at the top gets a dotted key, not a second [table]", () => {
  const out = setTomlKey('output.quiet = true\n\n[glaas]\nurl = "http://x"\n', "output.verbosity", '"verbose"');
  expect(parse(out)).toEqual({ output: { quiet: true, verbosity: "verbose" }, glaas: { url: "http://x" } });
  expect(out.startsWith("output.quiet = true\noutput.verbosity = ")).toBe(true);
});
