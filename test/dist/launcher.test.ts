/**
 * The `roar` npm package's launcher (npm/launcher.sh) in the node_modules layouts package managers make: it
 * must find the platform package and exec the compiled roar with the arguments untouched, or say in one line
 * what is missing. (test/dist/npm-registry.test.ts installs the real packages; this covers the layouts.)
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { hostPlatform } from "../../scripts/platforms.ts";
import { callerVariable, RUNTIME_OPTIONS } from "../../src/shared/jit-options.ts";
import { REPO_ROOT, tempDir } from "../helpers/cli.ts";

const LAUNCHER = join(REPO_ROOT, "npm/launcher.sh");
const platform = hostPlatform();
const BINARY = join(REPO_ROOT, `dist/roar-${platform?.name}`);

/**
 * Creates `links` (path → target) under a fresh directory and returns it. The launcher is copied, as a package
 * manager unpacks it; everything else is a symlink, as bin links and the binary are.
 */
function layout(links: Record<string, string>): string {
  const root = tempDir("roar-launcher-");
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    if (target === LAUNCHER) copyFileSync(LAUNCHER, join(root, path));
    else symlinkSync(target, join(root, path));
  }
  return root;
}

function run(path: string, args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([path, ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe.skipIf(!platform)("npm launcher", () => {
  const pkg = `@roar-cli/${platform?.name}`;

  test("hoisted (npm, npx, bunx): node_modules/.bin/roar → the sibling platform package", () => {
    const root = layout({
      "node_modules/roar/bin/roar": LAUNCHER,
      [`node_modules/${pkg}/bin/roar`]: BINARY,
      "node_modules/.bin/roar": "../roar/bin/roar",
    });
    const r = run(join(root, "node_modules/.bin/roar"), ["--version"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toMatch(/^roar, version /);
  });

  test("npm i -g: <prefix>/bin/roar → lib/node_modules/roar with the platform package nested inside", () => {
    const root = layout({
      "lib/node_modules/roar/bin/roar": LAUNCHER,
      [`lib/node_modules/roar/node_modules/${pkg}/bin/roar`]: BINARY,
      "bin/roar": "../lib/node_modules/roar/bin/roar",
    });
    const r = run(join(root, "bin/roar"), ["--version"]);
    expect(r).toMatchObject({ code: 0, err: "" });
  });

  test("pnpm: the package's real directory has the platform package as a sibling", () => {
    const store = "node_modules/.pnpm/roar@0.1.0/node_modules";
    const root = layout({
      [`${store}/roar/bin/roar`]: LAUNCHER,
      [`${store}/${pkg}/bin/roar`]: BINARY,
      "node_modules/.bin/roar": `../.pnpm/roar@0.1.0/node_modules/roar/bin/roar`,
    });
    const r = run(join(root, "node_modules/.bin/roar"), ["--version"]);
    expect(r).toMatchObject({ code: 0, err: "" });
  });

  test("arguments reach the binary untouched (spaces, empty, glob characters, newlines)", () => {
    // A stand-in binary that prints each argument it got in brackets.
    const stub = join(tempDir("roar-launcher-stub-"), "roar");
    writeFileSync(stub, "#!/bin/sh\nprintf '[%s]\\n' \"$@\"\n", { mode: 0o755 });
    const root = layout({ "node_modules/roar/bin/roar": LAUNCHER, [`node_modules/${pkg}/bin/roar`]: stub });
    const args = ["run", "a b", "*", "", "two\nlines", "--x=$HOME"];
    const r = run(join(root, "node_modules/roar/bin/roar"), args);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(args.map((a) => `[${a}]\n`).join(""));
  });

  test("roar's JavaScriptCore options go to the binary (no restart needed), the caller's own values aside", () => {
    // A stand-in binary that prints the variables (src/shared/jit-options.ts puts the caller's back).
    const stub = join(tempDir("roar-launcher-stub-"), "roar");
    const show = `printf "%s\\n" ${Object.keys(RUNTIME_OPTIONS)
      .flatMap((o) => [o, callerVariable(o)])
      .map((v) => `"${v}=\${${v}-unset}"`)
      .join(" ")}`;
    writeFileSync(stub, `#!/bin/sh\n${show}\n`, { mode: 0o755 });
    const root = layout({ "node_modules/roar/bin/roar": LAUNCHER, [`node_modules/${pkg}/bin/roar`]: stub });
    const launcher = join(root, "node_modules/roar/bin/roar");
    const expected = (callers: Record<string, string>) =>
      Object.entries(RUNTIME_OPTIONS).flatMap(([o, value]) => [
        `${o}=${value}`,
        `${callerVariable(o)}=${callers[o] ?? ""}`,
      ]);
    expect(run(launcher, ["run"]).out.trim().split("\n")).toEqual(expected({}));
    expect(run(launcher, ["--no-color", "build", "make"]).out.trim().split("\n")).toEqual(expected({}));
    const callers = { BUN_JSC_useDFGJIT: "1", BUN_JSC_largeHeapSize: "1048576" };
    const own = Bun.spawnSync([launcher, "run"], { env: { PATH: "/usr/bin:/bin", ...callers } });
    expect(own.stdout.toString().trim().split("\n")).toEqual(expected(callers));
    // The optimizing compilers stay on for the commands that trace no job (the first heap is roar's for all).
    const heapOnly = [
      "BUN_JSC_useDFGJIT=unset",
      "ROAR_CALLER_BUN_JSC_useDFGJIT=unset",
      `BUN_JSC_largeHeapSize=${RUNTIME_OPTIONS.BUN_JSC_largeHeapSize}`,
      "ROAR_CALLER_BUN_JSC_largeHeapSize=",
    ];
    for (const args of [["dag", "--json"], ["status"], ["--no-color", "status"], ["runner"], []])
      expect(run(launcher, args).out.trim().split("\n")).toEqual(heapOnly);
  });

  test("without the platform package: one line saying which package is missing, exit 125", () => {
    const root = layout({ "node_modules/roar/bin/roar": LAUNCHER, "node_modules/.bin/roar": "../roar/bin/roar" });
    const r = run(join(root, "node_modules/.bin/roar"), ["--version"]);
    expect(r.code).toBe(125);
    expect(r.out).toBe("");
    expect(r.err.trim().split("\n")).toEqual([expect.stringContaining(`the package ${pkg} is not installed`)]);
  });
});
