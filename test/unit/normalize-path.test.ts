import { expect, test } from "bun:test";
import { resolve } from "node:path";
import {
  absolutePath,
  isInside,
  storedAbsolute,
  storedDir,
  storedDirAbsolute,
  storedPath,
} from "../../src/core/project-paths.ts";
import { normalizeAbsolute, parentDir, resolveFrom } from "../../src/shared/paths.ts";

test("normalizeAbsolute agrees with node's path.resolve, on normal paths (returned as they are) and on the rest", () => {
  const cases = [
    "/",
    "/a",
    "/a/b.txt",
    "/a/.hidden",
    "/a/..b",
    "/a/b.",
    "/a/",
    "//a//b",
    "/a/./b",
    "/a/b/..",
    "/a/b/../c",
    "/a/.",
    "/..",
    "/a/b/../../..",
  ];
  for (const path of cases) expect(normalizeAbsolute(path)).toBe(resolve(path));
  // A byte that is not UTF-8 travels as a lone surrogate (shared/paths.ts): kept exactly, where node would replace it.
  expect(normalizeAbsolute("/x/\udcff/./y")).toBe("/x/\udcff/y");
  expect(normalizeAbsolute("/x/\udcff/y")).toBe("/x/\udcff/y");
  expect(resolveFrom("/repo", "out/model.pt")).toBe("/repo/out/model.pt");
  expect(resolveFrom("/repo", "../x")).toBe("/x");
  expect(resolveFrom("/repo/", "./a")).toBe("/repo/a");
});

test("a stored path joined to the project root is what resolving it gives (stored paths are normal already)", () => {
  for (const root of ["/repo", "/", "/a/b c"])
    for (const stored of ["out/model.pt", "a", "/abs/x", "d/\udcff/f"])
      expect(storedAbsolute(stored, root)).toBe(absolutePath(stored, root));
  // What the store keeps is storedPath's output: the round trip is exact.
  expect(storedAbsolute(storedPath("/repo/out/x", "/repo"), "/repo")).toBe("/repo/out/x");
});

test("the stored directory of a stored path, and its absolute path", () => {
  expect(storedDir("out/a/b.txt")).toBe("out/a");
  expect(storedDir("b.txt")).toBe("");
  expect(storedDir("/data/x.bin")).toBe("/data");
  expect(storedDir("/x.bin")).toBe("/");
  expect(storedDirAbsolute("", "/work/p")).toBe("/work/p");
  expect(storedDirAbsolute("out/a", "/work/p")).toBe("/work/p/out/a");
  expect(storedDirAbsolute("/data", "/work/p")).toBe("/data");
  expect(storedDirAbsolute("/", "/work/p")).toBe("/");
  expect(storedDirAbsolute("out", "/")).toBe("/out");
  // Always the directory storedAbsolute's file lies in.
  for (const [stored, root] of [
    ["out/a/b.txt", "/work/p"],
    ["b.txt", "/"],
    ["/x.bin", "/work/p"],
  ] as const)
    expect(storedDirAbsolute(storedDir(stored), root)).toBe(parentDir(storedAbsolute(stored, root)));
});

test("isInside: strictly below the root, by whole components; storedPath follows it", () => {
  const cases: [string, string, boolean][] = [
    ["/p/a", "/p", true],
    ["/p/a/b", "/p", true],
    ["/p", "/p", false],
    ["/pa", "/p", false],
    ["/p/", "/p", true],
    ["/q/a", "/p", false],
    ["/x", "/", true],
    ["/", "/", false],
    ["relative", "/", false],
    ["/p/\udcff", "/p", true],
  ];
  for (const [path, root, inside] of cases) {
    expect(isInside(path, root)).toBe(inside);
    // The reference: a prefix of the root and a slash, and not the root itself.
    expect(inside).toBe(path.startsWith(root === "/" ? "/" : `${root}/`) && path !== root);
  }
  expect(storedPath("/p/a/b", "/p")).toBe("a/b");
  expect(storedPath("/pa/b", "/p")).toBe("/pa/b");
  expect(storedPath("/p", "/p")).toBe("");
});
