/**
 * Cross-building roar's Rust libraries for the other Linux architecture (x64 → arm64), offline.
 *
 * rustup cannot download targets here and bookworm's rustc (1.63) is too old for this code; trixie's (1.85)
 * still lacks naked functions (stable in 1.88). Debian forky ships rustc 1.97 with the standard library for
 * every Debian architecture (libstd-rust-dev:arm64) and the cross compilers (gcc-aarch64-linux-gnu), so the
 * build runs in a cached forky root (scripts/debian-root.ts): rust/ is copied in (mtimes kept, so cargo
 * rebuilds only what changed), cargo builds with Debian's packaged crates for the hash kernel, and the
 * libraries land in rust/target/<triple>/release/ of the checkout.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import { ensureDebianRoot, hostDebianArch, type RootSpec } from "./debian-root.ts";
import { hostPlatform, libraryDir, NATIVE_LIBRARIES, PLATFORMS, type Platform } from "./platforms.ts";

export type CrossResult = { ok: true } | { ok: false; reason: string };

/** The forky root with rustc, cargo and, for every other platform, its std and C cross compiler. */
export function crossRootSpec(): RootSpec {
  const foreign = PLATFORMS.filter((p) => p !== hostPlatform());
  const arches = foreign.map((p) => p.debianArch);
  const packages = [
    "rustc",
    "cargo",
    ...foreign.flatMap((p) => [`libstd-rust-dev:${p.debianArch}`, `libc6-dev:${p.debianArch}`]),
    ...foreign.map((p) => `gcc-${p.gccTriple.replaceAll("_", "-")}`),
    "librust-blake3-dev",
    "librust-rayon-dev",
    "librust-libc-dev",
  ];
  return {
    name: `rust-cross-forky-${hostDebianArch()}`,
    suite: "forky",
    arch: hostDebianArch(),
    setup: [
      ...arches.map((a) => `dpkg --add-architecture ${a}`),
      "apt-get update -qq",
      `apt-get install -y -qq --no-install-recommends ${packages.join(" ")}`,
    ].join("\n"),
  };
}

function cargoEnv(platform: Platform): string {
  const triple = platform.rustTriple.toUpperCase().replaceAll("-", "_");
  const cc = `${platform.gccTriple}-gcc`;
  return `CARGO_TARGET_${triple}_LINKER=${cc} CC_${platform.rustTriple.replaceAll("-", "_")}=${cc}`;
}

/** Builds the tracer libraries and the hash kernel for `platform` into rust/target/<triple>/release/. */
export async function buildCrossLibraries(
  repoRoot: string,
  platform: Platform,
  log: (line: string) => void = console.error,
): Promise<CrossResult> {
  const outDir = libraryDir(repoRoot, platform);
  // Never leave libraries of an earlier build behind to be embedded when this one fails.
  for (const name of NATIVE_LIBRARIES) rmSync(join(outDir, `lib${name}.so`), { force: true });
  const made = await ensureDebianRoot(crossRootSpec(), log);
  if (!made.ok) return { ok: false, reason: `no cross toolchain: ${made.reason}` };

  // One build directory per checkout, so two worktrees never share (or race on) one copy.
  const key = createHash("sha256").update(repoRoot).digest("hex").slice(0, 12);
  const inside = `/build/${key}/rust`;
  const buildDir = join(made.root, inside);
  mkdirSync(buildDir, { recursive: true });
  // Fresh sources (deleted files gone), old mtimes (cargo's fingerprints stay valid). hash/Cargo.lock is
  // resolved against bookworm's crates; the root keeps its own against forky's.
  rmSync(join(buildDir, "crates"), { recursive: true, force: true });
  rmSync(join(buildDir, "hash/src"), { recursive: true, force: true });
  const copy =
    await $`tar -C ${join(repoRoot, "rust")} --exclude=./target --exclude=./hash/Cargo.lock -cf - . | tar -C ${buildDir} -xf -`
      .quiet()
      .nothrow();
  if (copy.exitCode !== 0) return { ok: false, reason: `copying rust/ into the cross root failed: ${copy.stderr}` };

  const target = `--target ${platform.rustTriple} --target-dir ${inside}/target`;
  const debianCrates = `--config 'source.crates-io.replace-with="debian-packaged"' --config 'source.debian-packaged.directory="/usr/share/cargo/registry"'`;
  const script = [
    `export ${cargoEnv(platform)}`,
    `cd ${inside} && cargo build --release --offline --quiet ${target}`,
    `cd ${inside}/hash && cargo build --release --offline --quiet ${target} ${debianCrates}`,
  ].join("\n");
  log(`build: cargo build --release --target ${platform.rustTriple} (in ${made.root})`);
  const build =
    await $`chroot ${made.root} /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root CARGO_HOME=/root/.cargo sh -ec ${script}`
      .quiet()
      .nothrow();
  if (build.exitCode !== 0) {
    const tail = build.stderr.toString().trim().split("\n").slice(-8).join("\n");
    return { ok: false, reason: `cargo build for ${platform.rustTriple} failed:\n${tail}` };
  }
  mkdirSync(outDir, { recursive: true });
  const built = join(buildDir, "target", platform.rustTriple, "release");
  for (const name of NATIVE_LIBRARIES) {
    const file = join(built, `lib${name}.so`);
    if (existsSync(file)) copyFileSync(file, join(outDir, `lib${name}.so`));
  }
  return { ok: true };
}

if (import.meta.main) {
  const repoRoot = join(import.meta.dir, "..");
  for (const platform of PLATFORMS.filter((p) => p !== hostPlatform())) {
    const r = await buildCrossLibraries(repoRoot, platform);
    console.error(
      r.ok ? `${platform.name}: built in ${libraryDir(repoRoot, platform)}` : `${platform.name}: ${r.reason}`,
    );
  }
}
