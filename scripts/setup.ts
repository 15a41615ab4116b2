/**
 * Brings a fresh machine (node/npm, cargo, python3, git) to where roar builds and its tests run: installs the
 * Debian packages the tests use when they are missing (as root, through apt), then builds the native libraries.
 * Idempotent and quick when everything is already there.
 */
import { existsSync } from "node:fs";
import { $ } from "bun";

/** Debian packages: [binary or file that proves it is installed, package name]. */
const APT_PACKAGES: [string, string][] = [
  ["/usr/bin/strace", "strace"],
  ["/usr/bin/b3sum", "b3sum"],
  ["/usr/share/cargo/registry/blake3-1.3.1", "librust-blake3-dev"],
  ["/usr/bin/cc", "gcc"],
  ["/usr/bin/make", "make"],
  ["/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev"],
  // 32-bit test programs (the tracers' i386 support); x86_64 only
  ...(process.arch === "x64" ? ([["/usr/lib32/libc.a", "gcc-multilib"]] as [string, string][]) : []),
  // Debian's own Python packages, for the backend-parity test of the recorded environment
  ["/usr/lib/python3/dist-packages/six.py", "python3-six"],
];

export async function ensureSystemPackages(log: (line: string) => void = console.error): Promise<void> {
  const missing = APT_PACKAGES.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(
      `setup: missing Debian packages (${missing.join(" ")}); install them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    return;
  }
  log(`setup: installing ${missing.join(" ")} with apt-get`);
  await $`apt-get update -qq`.quiet().nothrow();
  const r = await $`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing}`.quiet().nothrow();
  if (r.exitCode !== 0) log(`setup: apt-get install failed:\n${r.stderr.toString()}`);
}

if (import.meta.main) {
  await ensureSystemPackages();
  const build = await $`bun ${import.meta.dir}/../build.ts`.nothrow();
  process.exit(build.exitCode);
}
