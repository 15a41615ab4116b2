import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { normalizeAbsolute, resolveFrom } from "../../src/shared/paths.ts";

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
