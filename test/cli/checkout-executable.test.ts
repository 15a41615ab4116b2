/**
 * bin/roar runs the checkout's compiled roar (dist/roar, built by the test set-up) when it was built from the
 * checkout as it is (src/shared/checkout-executable.ts): with the checkout's own tracer libraries, nothing
 * extracted, and nothing of bin/roar's in the job's environment; a checkout changed since the build goes to
 * bin/roar.ts (its bundle or its sources) instead. Checked on stand-in checkouts around the real executable, so
 * that no test touches this checkout's own files (the rest of the suite runs its bin/roar).
 */
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  realpathSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { NATIVE_LIBRARIES } from "../../scripts/platforms.ts";
import { RUNTIME_OPTIONS } from "../../src/shared/jit-options.ts";
import { commitAll, hermeticEnv, REPO_ROOT, tempDir, tempRepo } from "../helpers/cli.ts";

const COMPILED = join(REPO_ROOT, "dist/roar");
const LIBRARIES = join(REPO_ROOT, "rust/target/release");
/** Long before any build: a stand-in checkout the executable was built after. */
const LONG_AGO = new Date("2001-01-01T00:00:00Z");

/** A checkout of its own: bin/roar (a copy), dist/roar (the real one, linked), and `files` (path → text). */
function standIn(files: Record<string, string>, times?: Date): string {
  const root = tempDir("roar-checkout-");
  mkdirSync(join(root, "bin"));
  copyFileSync(join(REPO_ROOT, "bin/roar"), join(root, "bin/roar"));
  chmodSync(join(root, "bin/roar"), 0o755);
  mkdirSync(join(root, "dist"));
  symlinkSync(COMPILED, join(root, "dist/roar"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
    if (times) utimesSync(join(root, path), times, times);
  }
  return root;
}

/** The checkout's tracer libraries, copied into `root` as old as LONG_AGO; their directory. */
function withLibraries(root: string): string {
  const libDir = join(root, "rust/target/release");
  mkdirSync(libDir, { recursive: true });
  for (const name of NATIVE_LIBRARIES) {
    const lib = join(libDir, `lib${name}.so`);
    copyFileSync(join(LIBRARIES, `lib${name}.so`), lib);
    utimesSync(lib, LONG_AGO, LONG_AGO);
  }
  return libDir;
}

function run(root: string, args: string[], cwd: string, extra: Record<string, string | undefined> = {}) {
  const env = hermeticEnv(join(cwd, ".test-home"), { ROAR_TRACER_LIB_DIR: undefined, ...extra });
  const r = Bun.spawnSync([join(root, "bin/roar"), ...args], { cwd, env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A bin/roar.ts that says it ran, with its arguments and what of roar's environment it saw. */
/** roar's first-heap option, which bin/roar sets for every command (src/shared/jit-options.ts). */
const HEAP = RUNTIME_OPTIONS.BUN_JSC_largeHeapSize;

const LAUNCHER_STUB = [
  "const e = process.env;",
  'console.log(["bin/roar.ts", ...process.argv.slice(2), e.ROAR_CHECKOUT ?? "-", e.BUN_JSC_largeHeapSize ?? "-"].join(" "));',
].join("\n");

describe("bin/roar and the checkout's compiled roar", () => {
  test("built from the checkout as it is: bin/roar runs it, with the checkout's libraries; the job sees nothing of it", () => {
    expect(existsSync(COMPILED)).toBe(true); // built by `bun build.ts --compile` (npm test does it)
    const files: Record<string, string> = { "src/main.ts": "// stand-in\n", "package.json": "{}\n" };
    const root = standIn(files, LONG_AGO);
    const libDir = withLibraries(root);
    const repo = tempRepo();
    expect(run(root, ["init", "-y"], repo).code).toBe(0);
    commitAll(repo, "roar init");

    const status = JSON.parse(run(root, ["tracer", "status", "--json"], repo).stdout) as {
      backends: { name: string; usable: boolean; library: string | null }[];
    };
    for (const b of status.backends)
      expect(b).toMatchObject({ usable: true, library: expect.stringContaining(libDir) });
    // The job's parent under ptrace is roar itself: the executable, not Bun.
    const job = run(root, ["run", "-q", "--tracer", "ptrace", "sh", "-c", "readlink /proc/$PPID/exe; env"], repo);
    expect(job.code).toBe(0);
    const [exe, ...env] = job.stdout.trim().split("\n");
    expect(exe).toBe(realpathSync(COMPILED));
    expect(env.filter((line) => /^(ROAR_CHECKOUT|ROAR_CALLER_|BUN_JSC_)/.test(line))).toEqual([]);
    // Nothing extracted: the embedded copies are the checkout's files, unchanged.
    expect(existsSync(join(repo, ".test-home/.cache/roar/lib"))).toBe(false);
  }, 120_000);

  test("a checkout changed since the build: bin/roar.ts runs the command instead, in bin/roar's environment", () => {
    expect(existsSync(COMPILED)).toBe(true);
    // A source file newer than the build (its libraries gone too: either is enough).
    const root = standIn({ "bin/roar.ts": LAUNCHER_STUB, "src/main.ts": "// edited\n", "package.json": "{}\n" });
    const cwd = tempDir();
    const r = run(root, ["--version", "x y"], cwd, { BUN_JSC_largeHeapSize: undefined });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`bin/roar.ts --version x y - ${HEAP}\n`);
    // A checkout as it was built, where the executable would run (and print roar's version), unless asked not to.
    const fresh = standIn({ "bin/roar.ts": LAUNCHER_STUB, "src/main.ts": "//\n", "package.json": "{}\n" }, LONG_AGO);
    withLibraries(fresh);
    expect(run(fresh, ["--version"], cwd).stdout).toMatch(/^roar, version /);
    for (const knob of ["ROAR_NO_EXECUTABLE", "ROAR_FROM_SOURCE"])
      expect(run(fresh, ["--version"], cwd, { [knob]: "1" }).stdout).toBe(`bin/roar.ts --version - ${HEAP}\n`);
  }, 60_000);
});
