/**
 * Builds roar's native parts: the tracer libraries (rust/, `cargo build --release --offline`) and, when
 * Debian's BLAKE3 crate sources are present, the native hash kernel; and the source launcher's bytecode bundle
 * (scripts/launcher-bundle.ts).
 *
 * `--compile` also produces one self-contained executable per platform in dist/ (dist/roar-linux-x64,
 * dist/roar-linux-arm64, and dist/roar for this machine): the other architecture's libraries are cross-built
 * in a cached Debian root (scripts/cross-rust.ts; made once, needs root and debootstrap). It prints which
 * platforms it skipped and why. `--host-only` compiles this machine's binary alone.
 */
import { join } from "node:path";
import { $ } from "bun";
import { buildNativeHash } from "./scripts/build-native-hash.ts";
import { hostPlatform, PLATFORMS, type Platform, UNSUPPORTED_PLATFORMS } from "./scripts/platforms.ts";

const root = import.meta.dir;

async function buildRust(): Promise<void> {
  console.error("build: cargo build --release --offline (rust/)");
  const r = await $`cargo build --release --offline --quiet`.cwd(join(root, "rust")).nothrow();
  if (r.exitCode !== 0) throw new Error("cargo build failed");
}

async function buildNativeKernel(): Promise<void> {
  const result = await buildNativeHash();
  if (!result.ok)
    console.error(`build: native BLAKE3 kernel not built (${result.reason}); roar falls back to blake3-wasm`);
}

async function compileAll(hostOnly: boolean): Promise<void> {
  const { buildCrossLibraries } = await import("./scripts/cross-rust.ts");
  const { compilablePlatforms, compileExecutables } = await import("./scripts/compile.ts");
  const host = hostPlatform();
  const skipped: string[] = [];
  const wanted: Platform[] = [];
  for (const platform of PLATFORMS) {
    if (platform === host) wanted.push(platform);
    else if (hostOnly) skipped.push(`${platform.name}: --host-only`);
    else {
      const cross = await buildCrossLibraries(root, platform);
      if (cross.ok) wanted.push(platform);
      else skipped.push(`${platform.name}: ${cross.reason}`);
    }
  }
  const { ready, missing } = compilablePlatforms(root, wanted);
  for (const { platform, reason } of missing) skipped.push(`${platform.name}: ${reason}`);
  await compileExecutables(root, ready);
  for (const { name, reason } of UNSUPPORTED_PLATFORMS) skipped.push(`${name}: ${reason}`);
  for (const line of skipped) console.error(`build: skipped ${line}`);
}

await buildRust();
await buildNativeKernel();
{
  const { buildLauncherBundle } = await import("./scripts/launcher-bundle.ts");
  await buildLauncherBundle(root);
}
if (process.argv.includes("--compile")) await compileAll(process.argv.includes("--host-only"));
