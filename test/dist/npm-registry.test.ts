/**
 * The npm packages built from this checkout (scripts/npm-packages.ts over `bun build.ts --compile`), published
 * to a local registry (verdaccio on loopback) and used as a new user would: `bunx roar`, `npx roar` with node
 * and npm only (no bun anywhere on PATH), `npm i -g roar`. Each records a traced job with the tracer libraries
 * of its platform package, from a clean npm/bun cache and a clean $HOME.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeNpmPackages } from "../../scripts/npm-packages.ts";
import { hostPlatform, PLATFORMS } from "../../scripts/platforms.ts";
import { BUN, commitAll, hermeticEnv, REPO_ROOT, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";
import { type LocalRegistry, npmAvailable, publish, startRegistry, withoutNpmConfig } from "../helpers/registry.ts";

const host = hostPlatform();
const unavailable = host ? npmAvailable() : `no roar build for ${process.platform}/${process.arch}`;
if (unavailable) console.error(`npm package tests skipped: ${unavailable}`);

const NODE_DIR = dirname(Bun.which("node") ?? "/usr/bin/node");

/** A directory with just `bun` and `bunx` (Bun acts as bunx when called by that name). */
function bunOnly(): string {
  const dir = tempDir("roar-bun-path-");
  for (const name of ["bun", "bunx"]) symlinkSync(BUN, join(dir, name));
  return dir;
}

interface Job {
  inputs: { path: string; blake3: string }[];
  outputs: { path: string; blake3: string }[];
  trace: { backend: string; complete: boolean };
}

describe.skipIf(unavailable !== null)("the roar npm packages from a local registry", () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    expect(existsSync(join(REPO_ROOT, `dist/roar-${host?.name}`))).toBe(true);
    registry = await startRegistry();
    // Platform packages first, as a release does: roar's optionalDependencies must resolve.
    for (const dir of writeNpmPackages(REPO_ROOT, tempDir("roar-npm-"))) publish(registry, dir);
  }, 600_000);
  afterAll(() => registry?.stop());

  /** A consumer: own HOME, empty npm and bun caches, the registry, and exactly the given PATH. */
  function consumer(path: string): {
    repo: string;
    run: (argv: string[]) => { code: number; out: string; err: string };
  } {
    const repo = tempRepo({
      "copy.py": "import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read().upper())\n",
      "in.txt": "from the registry\n",
    });
    const home = tempDir("roar-consumer-home-");
    writeFileSync(join(home, ".npmrc"), `registry=${registry.url}\n`);
    const env = withoutNpmConfig(
      hermeticEnv(home, {
        PATH: path,
        ROAR_TRACER_LIB_DIR: undefined,
        NPM_CONFIG_REGISTRY: registry.url, // bun reads this one
        BUN_INSTALL_CACHE_DIR: join(home, ".bun-cache"),
        TMPDIR: tempDir("roar-consumer-tmp-"),
      }),
    );
    env.npm_config_cache = join(home, ".npm");
    env.npm_config_update_notifier = "false";
    env.npm_config_fund = "false";
    env.npm_config_audit = "false";
    const run = (argv: string[]) => {
      const r = Bun.spawnSync(argv, { cwd: repo, env, stdout: "pipe", stderr: "pipe", timeout: 300_000 });
      return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
    };
    return { repo, run };
  }

  function recordsCompleteJob(roar: string[], c: ReturnType<typeof consumer>): void {
    const must = (args: string[]) => {
      const r = c.run([...roar, ...args]);
      if (r.code !== 0) throw new Error(`${[...roar, ...args].join(" ")} exited ${r.code}:\n${r.err}`);
      return r.out;
    };
    expect(must(["--version"])).toMatch(/^roar, version \d+\.\d+\.\d+/);
    must(["init", "-y"]);
    commitAll(c.repo, "roar init");
    const status = JSON.parse(must(["tracer", "status", "--json"])) as {
      backends: { usable: boolean; library: string }[];
    };
    for (const backend of status.backends) {
      // The libraries shipped beside the binary in the platform package: nothing extracted into $HOME.
      expect(backend).toMatchObject({
        usable: true,
        library: expect.stringContaining(`/@roar-cli/${host?.name}/bin/`),
      });
    }
    must(["run", "python3", "copy.py", "in.txt", "out.txt"]);
    const job = JSON.parse(must(["show", "--json", "@1"])) as Job;
    expect(job.trace).toMatchObject({ backend: "hybrid", complete: true });
    expect(job.inputs).toEqual([expect.objectContaining({ path: "in.txt", blake3: b3sum(join(c.repo, "in.txt")) })]);
    expect(job.outputs).toEqual([expect.objectContaining({ path: "out.txt", blake3: b3sum(join(c.repo, "out.txt")) })]);
  }

  test("the published roar has no dependencies to resolve (so no overrides), one optional package per platform", async () => {
    const meta = (await (await fetch(`${registry.url}roar`)).json()) as {
      versions: Record<string, { dependencies?: object; optionalDependencies?: Record<string, string> }>;
    };
    const [manifest] = Object.values(meta.versions);
    expect(manifest?.dependencies).toBeUndefined();
    const built = PLATFORMS.filter((p) => existsSync(join(REPO_ROOT, `dist/roar-${p.name}`)));
    expect(Object.keys(manifest?.optionalDependencies ?? {}).sort()).toEqual(
      built.map((p) => `@roar-cli/${p.name}`).sort(),
    );
  });

  test("bunx roar init -y && bunx roar run …: a complete trace", () => {
    const bunDir = bunOnly();
    const c = consumer(`${bunDir}:/usr/bin:/bin`);
    recordsCompleteJob([join(bunDir, "bunx"), "roar"], c);
  }, 300_000);

  test("npx roar with node and npm only: no bun on PATH, no Rust toolchain needed", () => {
    const path = `${NODE_DIR}:/usr/bin:/bin`;
    expect(Bun.which("bun", { PATH: path })).toBeNull();
    const c = consumer(path);
    recordsCompleteJob(["npx", "--yes", "roar"], c);
  }, 300_000);

  test("npm i -g roar: the global bin link finds the nested platform package", () => {
    const c = consumer(`${NODE_DIR}:/usr/bin:/bin`);
    const prefix = tempDir("roar-global-");
    const install = c.run(["npm", "install", "-g", "--prefix", prefix, "roar"]);
    expect(install.err).not.toContain("ERR!");
    expect(install.code).toBe(0);
    recordsCompleteJob([join(prefix, "bin/roar")], c);
  }, 300_000);
});
