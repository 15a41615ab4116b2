/**
 * Builds roar's native parts: the tracer libraries (rust/, `cargo build --release --offline`) and, when
 * Debian's BLAKE3 crate sources are present, the native hash kernel. `--compile` also produces
 * self-contained executables in dist/ (see README).
 */
import { join } from "node:path";
import { $ } from "bun";
import { buildNativeHash } from "./scripts/build-native-hash.ts";

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

await buildRust();
await buildNativeKernel();
if (process.argv.includes("--compile")) {
  const { compileExecutables } = await import("./scripts/compile.ts");
  await compileExecutables(root);
}
