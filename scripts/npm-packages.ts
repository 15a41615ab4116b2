/**
 * The npm packages of a release, made from the compiled binaries (`bun build.ts --compile` first), in the
 * esbuild/biome pattern:
 *
 *   roar                  the package users install (`bunx roar`, `npx roar`, `npm i -g roar`): a POSIX-shell
 *                         launcher (npm/launcher.sh) and one optional dependency per platform, pinned exactly;
 *   @roar-cli/<platform>  that platform's compiled roar (Bun runtime, code and worker scripts inside) with its
 *                         tracer libraries beside it (found there first, so nothing is extracted at run time);
 *                         `os`/`cpu`/`libc` make npm and bun install only the one that fits.
 *
 * No package has a regular dependency: a consumer needs neither Bun, nor Rust, nor blake3-wasm (the compiled
 * binary carries the native BLAKE3 kernel and the wasm fallback), so no `overrides` either.
 *
 * Usage: bun scripts/npm-packages.ts [--out DIR]   → DIR/roar, DIR/linux-x64, ... (default dist/npm); then
 *        `npm publish DIR/linux-x64 && npm publish DIR/linux-arm64 && npm publish DIR/roar`.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { libraryDir, NATIVE_LIBRARIES, PLATFORMS } from "./platforms.ts";

const SCOPE = "@roar-cli";

interface RootManifest {
  name: string;
  version: string;
  description: string;
  license: string;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function copyExecutable(from: string, to: string): void {
  copyFileSync(from, to);
  chmodSync(to, 0o755);
}

/** Writes the packages into `outDir` (emptied first); returns their directories, platform packages first. */
export function writeNpmPackages(root: string, outDir: string = join(root, "dist/npm")): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as RootManifest;
  const { version, license } = manifest;
  rmSync(outDir, { recursive: true, force: true });
  const dirs: string[] = [];
  const optional: Record<string, string> = {};
  for (const platform of PLATFORMS) {
    const binary = join(root, "dist", `roar-${platform.name}`);
    if (!existsSync(binary)) {
      console.error(`npm-packages: skipped ${SCOPE}/${platform.name}: ${binary} is not built (bun build.ts --compile)`);
      continue;
    }
    const dir = join(outDir, platform.name);
    mkdirSync(join(dir, "bin"), { recursive: true });
    copyExecutable(binary, join(dir, "bin/roar"));
    for (const name of NATIVE_LIBRARIES) {
      const lib = join(libraryDir(root, platform), `lib${name}.so`);
      if (existsSync(lib)) copyExecutable(lib, join(dir, "bin", `lib${name}.so`));
    }
    const name = `${SCOPE}/${platform.name}`;
    writeJson(join(dir, "package.json"), {
      name,
      version,
      description: `roar for ${platform.os} ${platform.cpu} (glibc): the compiled CLI and its tracer libraries. Install "roar" instead.`,
      license,
      os: [platform.os],
      cpu: [platform.cpu],
      libc: ["glibc"],
      files: ["bin/"],
      preferUnplugged: true,
    });
    writeFileSync(join(dir, "README.md"), `# ${name}\n\nThe ${platform.name} binary of \`roar\`. Install \`roar\`.\n`);
    optional[name] = version;
    dirs.push(dir);
  }
  if (dirs.length === 0) throw new Error("no compiled binaries in dist/: run `bun build.ts --compile` first");

  const dir = join(outDir, "roar");
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyExecutable(join(root, "npm/launcher.sh"), join(dir, "bin/roar"));
  copyFileSync(join(root, "README.md"), join(dir, "README.md"));
  writeJson(join(dir, "package.json"), {
    name: "roar",
    version,
    description: manifest.description,
    license,
    keywords: ["provenance", "lineage", "ml", "pipeline", "reproducibility", "tracing", "blake3"],
    bin: { roar: "bin/roar" },
    files: ["bin/roar", "README.md"],
    optionalDependencies: optional,
  });
  dirs.push(dir);
  return dirs;
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const outIndex = process.argv.indexOf("--out");
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? "") : undefined;
  for (const dir of writeNpmPackages(root, outDir)) console.error(`npm-packages: ${dir}`);
}
