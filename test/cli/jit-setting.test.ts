/**
 * roar's JavaScriptCore options (src/shared/jit-options.ts): bin/roar starts roar with the optimizing compilers
 * off and a bigger first heap, and the commands it runs see the caller's environment as it was — never roar's
 * options, never the variables that carry the caller's own values. Each tracer, since each starts the command its
 * own way.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME_OPTIONS } from "../../src/shared/jit-options.ts";
import { hermeticEnv, ROAR_BIN, roar, tempDir, tempRepo } from "../helpers/cli.ts";

const T = 60_000;

/** The command's environment and its parent's (roar's) initial one, as files the job writes. */
const SHOW_ENVIRONMENTS = `env > child.env; tr '\\0' '\\n' < /proc/$PPID/environ > parent.env`;

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n");
}

/** roar's options as they appear in its own environment. */
const ROAR_OPTIONS = Object.entries(RUNTIME_OPTIONS).map(([option, value]) => `${option}=${value}`);

describe("roar's JavaScriptCore options", () => {
  for (const tracer of ["auto", "ptrace", "preload"]) {
    test(
      `${tracer}: roar runs with its options (BUN_JSC_useDFGJIT=0, …); the command sees none of them`,
      async () => {
        const repo = tempRepo();
        expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
        const r = await roar(["run", "-q", "--tracer", tracer, "sh", "-c", SHOW_ENVIRONMENTS], { cwd: repo });
        expect(r.code).toBe(0);
        expect(lines(join(repo, "parent.env"))).toEqual(expect.arrayContaining(ROAR_OPTIONS));
        const child = lines(join(repo, "child.env"));
        expect(child.filter((l) => l.includes("BUN_JSC_") || l.startsWith("ROAR_CALLER_"))).toEqual([]);
        // The command's environment is otherwise the caller's (the test's hermetic one).
        expect(child).toContain(`HOME=${join(repo, ".test-home")}`);
      },
      T,
    );
  }

  test(
    "the caller's own values reach the command unchanged; roar still runs with its own",
    async () => {
      const repo = tempRepo();
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      const env = { BUN_JSC_useDFGJIT: "1", BUN_JSC_useFTLJIT: "0", BUN_JSC_largeHeapSize: "1048576" };
      const r = await roar(["run", "-q", "sh", "-c", SHOW_ENVIRONMENTS], { cwd: repo, env });
      expect(r.code).toBe(0);
      expect(lines(join(repo, "parent.env"))).toEqual(expect.arrayContaining(ROAR_OPTIONS));
      const child = lines(join(repo, "child.env")).filter((l) => l.includes("BUN_JSC_") || l.includes("ROAR_CALLER_"));
      expect(child.sort()).toEqual(["BUN_JSC_largeHeapSize=1048576", "BUN_JSC_useDFGJIT=1", "BUN_JSC_useFTLJIT=0"]);
    },
    T,
  );

  test("bin/roar turns the optimizing compilers off for run/build only; the first heap is roar's for every command", () => {
    // bin/roar as it is, beside a stand-in dist/roar that prints what it was given.
    const dir = tempDir("roar-launch-");
    mkdirSync(join(dir, "bin"));
    mkdirSync(join(dir, "dist"));
    copyFileSync(ROAR_BIN, join(dir, "bin", "roar"));
    writeFileSync(join(dir, "bin", "roar.ts"), "");
    const names = Object.keys(RUNTIME_OPTIONS).flatMap((o) => [o, `ROAR_CALLER_${o}`]);
    writeFileSync(
      join(dir, "dist", "roar"),
      `#!/bin/sh\nprintf "%s\\n" ${names.map((v) => `"${v}=\${${v}-unset}"`).join(" ")}\n`,
      {
        mode: 0o755,
      },
    );
    const given = (args: string[]) =>
      Bun.spawnSync([join(dir, "bin", "roar"), ...args], { env: { PATH: "/usr/bin:/bin", BUN_JSC_useDFGJIT: "1" } })
        .stdout.toString()
        .trim()
        .split("\n");
    const heap = [
      `BUN_JSC_largeHeapSize=${RUNTIME_OPTIONS.BUN_JSC_largeHeapSize}`,
      "ROAR_CALLER_BUN_JSC_largeHeapSize=",
    ];
    for (const args of [
      ["run", "true"],
      ["build", "make"],
      ["--no-color", "run", "x"],
    ])
      expect(given(args)).toEqual(["BUN_JSC_useDFGJIT=0", "ROAR_CALLER_BUN_JSC_useDFGJIT=1", ...heap]);
    for (const args of [["dag", "--json"], ["status"], ["server"], ["--no-color", "log"], []])
      expect(given(args)).toEqual(["BUN_JSC_useDFGJIT=1", "ROAR_CALLER_BUN_JSC_useDFGJIT=unset", ...heap]);
  });

  test(
    "bin/roar started through a symlink elsewhere (npm link, ~/bin) finds its bin/roar.ts, as by a relative path",
    () => {
      const dir = tempDir("roar-link-");
      const link = join(dir, "roar");
      symlinkSync(ROAR_BIN, link);
      const env = hermeticEnv(dir);
      for (const argv of [[link], ["./roar"]]) {
        const r = Bun.spawnSync([...argv, "--version"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
        expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
        expect(r.stdout.toString()).toMatch(/^roar, version /);
      }
    },
    T,
  );
});
