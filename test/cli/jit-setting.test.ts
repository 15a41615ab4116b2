/**
 * roar's JIT setting (src/shared/jit-options.ts): bin/roar starts roar with JavaScriptCore's optimizing compilers
 * off, and the commands it runs see the caller's environment as it was — never roar's setting, never the variable
 * that carries the caller's own value. Each tracer, since each starts the command its own way.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roar, tempRepo } from "../helpers/cli.ts";

const T = 60_000;

/** The command's environment and its parent's (roar's) initial one, as files the job writes. */
const SHOW_ENVIRONMENTS = `env > child.env; tr '\\0' '\\n' < /proc/$PPID/environ > parent.env`;

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n");
}

describe("roar's JIT setting", () => {
  for (const tracer of ["auto", "ptrace", "preload"]) {
    test(
      `${tracer}: roar runs with BUN_JSC_useDFGJIT=0; the command sees none of it`,
      async () => {
        const repo = tempRepo();
        expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
        const r = await roar(["run", "-q", "--tracer", tracer, "sh", "-c", SHOW_ENVIRONMENTS], { cwd: repo });
        expect(r.code).toBe(0);
        expect(lines(join(repo, "parent.env"))).toContain("BUN_JSC_useDFGJIT=0");
        const child = lines(join(repo, "child.env"));
        expect(child.filter((l) => l.includes("BUN_JSC_") || l.startsWith("ROAR_CALLER_"))).toEqual([]);
        // The command's environment is otherwise the caller's (the test's hermetic one).
        expect(child).toContain(`HOME=${join(repo, ".test-home")}`);
      },
      T,
    );
  }

  test(
    "the caller's own value reaches the command unchanged; roar still runs with its own",
    async () => {
      const repo = tempRepo();
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      const env = { BUN_JSC_useDFGJIT: "1", BUN_JSC_useFTLJIT: "0" };
      const r = await roar(["run", "-q", "sh", "-c", SHOW_ENVIRONMENTS], { cwd: repo, env });
      expect(r.code).toBe(0);
      expect(lines(join(repo, "parent.env"))).toContain("BUN_JSC_useDFGJIT=0");
      const child = lines(join(repo, "child.env")).filter((l) => l.includes("BUN_JSC_") || l.includes("ROAR_CALLER_"));
      expect(child.sort()).toEqual(["BUN_JSC_useDFGJIT=1", "BUN_JSC_useFTLJIT=0"]);
    },
    T,
  );
});
