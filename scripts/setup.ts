/**
 * Brings a fresh machine (node/npm, cargo, python3, git) to where roar builds and its tests run: installs the
 * Debian packages the tests use when they are missing (as root, through apt), then builds the native libraries.
 * The cross toolchain for the other architecture is not an apt package of this release: build.ts --compile
 * makes it once in a cached Debian forky root (scripts/cross-rust.ts).
 * Idempotent and quick when everything is already there.
 */
import { existsSync, readdirSync } from "node:fs";
import { $ } from "bun";

/** The PostgreSQL server binaries (initdb, pg_ctl) of the newest installed major version, if any. */
export function postgresBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(`${root}/${v}/bin/initdb`) && existsSync(`${root}/${v}/bin/pg_ctl`))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? `${root}/${versions[0]}/bin` : null;
}

/**
 * Debian packages: [binary or file that proves it is installed (or a check), package name]. PostgreSQL and
 * Chromium serve the registry tests (a private PostgreSQL cluster, a headless browser), never a system service.
 */
const APT_PACKAGES: [string | (() => boolean), string][] = [
  ["/usr/bin/strace", "strace"],
  ["/usr/bin/b3sum", "b3sum"],
  // The HTTPS tests make a self-signed certificate.
  ["/usr/bin/openssl", "openssl"],
  ["/usr/share/cargo/registry/blake3-1.3.1", "librust-blake3-dev"],
  ["/usr/bin/cc", "gcc"],
  ["/usr/bin/make", "make"],
  ["/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev"],
  [() => postgresBinDir() !== null, "postgresql"],
  ["/usr/bin/chromium", "chromium"],
  // The distribution tests and the cross build: Debian roots (cached), other architectures through qemu-user.
  ["/usr/sbin/debootstrap", "debootstrap"],
  [process.arch === "arm64" ? "/usr/bin/qemu-x86_64-static" : "/usr/bin/qemu-aarch64-static", "qemu-user-static"],
  // 32-bit test programs (the tracers' i386 support); x86_64 only
  ...(process.arch === "x64" ? ([["/usr/lib32/libc.a", "gcc-multilib"]] as [string, string][]) : []),
  // Debian's own Python packages, for the backend-parity test of the recorded environment
  ["/usr/lib/python3/dist-packages/six.py", "python3-six"],
];

export async function ensureSystemPackages(log: (line: string) => void = console.error): Promise<void> {
  const present = (check: string | (() => boolean)) => (typeof check === "string" ? existsSync(check) : check());
  const missing = APT_PACKAGES.filter(([check]) => !present(check)).map(([, pkg]) => pkg);
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
