/**
 * Builds the native BLAKE3 kernel (rust/hash → rust/target/release/libroar_hash.so, where src/shared/native.ts
 * finds it). Installs nothing: without a Rust toolchain, a C compiler or the crates, it reports what is missing
 * and roar keeps hashing with blake3-wasm.
 *
 * Crate source ($ROAR_HASH_CRATES, default "auto"):
 *   debian    Debian's packaged crates in /usr/share/cargo/registry (apt-get install librust-blake3-dev
 *             librust-rayon-dev librust-libc-dev), offline, selected with `cargo --config` flags so no
 *             .cargo/config.toml changes any other build;
 *   crates-io cargo's default registry (needs network or a filled cargo cache);
 *   auto      debian when the packaged crates are there, else crates-io only if cargo already has it cached
 *             (--offline), else "missing".
 *
 * Usage: bun scripts/build-native-hash.ts        (exit 0 when built, 1 when not; the reason goes to stderr)
 *        import { buildNativeHash } from "./scripts/build-native-hash.ts"   (from build.ts; never throws)
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const CRATE_DIR = join(ROOT, "rust", "hash");
const TARGET_DIR = join(ROOT, "rust", "target");
const DEBIAN_REGISTRY = "/usr/share/cargo/registry";
/** Debian crates the kernel needs, by directory-name prefix (versions vary between releases). */
const DEBIAN_CRATES = [
  "blake3-",
  "rayon-",
  "rayon-core-",
  "libc-",
  "arrayref-",
  "arrayvec-",
  "constant_time_eq-",
  "cc-",
];
const APT_HINT = "apt-get install -y librust-blake3-dev librust-rayon-dev librust-libc-dev";
/** What Debian writes as the package checksum; a lockfile holding it only works against Debian's directory. */
const DEBIAN_CHECKSUM = "Could not get crate checksum";

export type CrateSource = "debian" | "crates-io";

export interface NativeHashBuild {
  ok: boolean;
  /** The built library, when ok. */
  library?: string;
  source?: CrateSource;
  /** Why it was not built (missing toolchain, missing crates, compiler errors). */
  reason?: string;
}

function which(command: string): string | null {
  const extra = [join(homedir(), ".cargo", "bin")];
  const dirs = [...(process.env.PATH ?? "").split(":"), ...extra];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

function missingDebianCrates(): string[] {
  if (!existsSync(DEBIAN_REGISTRY)) return DEBIAN_CRATES.map((prefix) => prefix.slice(0, -1));
  const present = readdirSync(DEBIAN_REGISTRY);
  return DEBIAN_CRATES.filter(
    // "rayon-" must not be satisfied by "rayon-core-…": the character after the prefix has to start a version.
    (prefix) => !present.some((name) => name.startsWith(prefix) && /^\d/.test(name.slice(prefix.length))),
  ).map((prefix) => prefix.slice(0, -1));
}

/** Removes a machine-local Cargo.lock resolved against the other source (their checksums differ). */
function dropForeignLockfile(source: CrateSource): void {
  const lockfile = join(CRATE_DIR, "Cargo.lock");
  if (!existsSync(lockfile)) return;
  const fromDebian = readFileSync(lockfile, "utf8").includes(DEBIAN_CHECKSUM);
  if (fromDebian !== (source === "debian")) rmSync(lockfile);
}

function cargoArgs(source: CrateSource, offline: boolean, command: "build" | "test" = "build"): string[] {
  const args = [command, "--release", "--manifest-path", join(CRATE_DIR, "Cargo.toml"), "--target-dir", TARGET_DIR];
  if (offline) args.push("--offline");
  if (source === "debian") {
    args.push(
      "--config",
      'source.crates-io.replace-with="debian-packaged"',
      "--config",
      `source.debian-packaged.directory="${DEBIAN_REGISTRY}"`,
    );
  }
  return args;
}

/**
 * The kernel's own Rust tests (the batch stat/hash entry points against single calls), with Debian's crates
 * when they are there; null when neither those crates nor cargo is available (nothing to test against).
 */
export async function testNativeHash(): Promise<{ exitCode: number } | null> {
  const cargo = which("cargo");
  if (!cargo || missingDebianCrates().length) return null;
  dropForeignLockfile("debian");
  const proc = Bun.spawn([cargo, ...cargoArgs("debian", true, "test"), "--quiet"], {
    cwd: CRATE_DIR,
    stdout: "inherit",
    stderr: "inherit",
  });
  return { exitCode: await proc.exited };
}

export async function buildNativeHash(
  options: { source?: CrateSource | "auto"; quiet?: boolean } = {},
): Promise<NativeHashBuild> {
  const requested = options.source ?? (process.env.ROAR_HASH_CRATES as CrateSource | "auto" | undefined) ?? "auto";
  const cargo = which("cargo");
  if (!cargo) return { ok: false, reason: "cargo not found (install a Rust toolchain, e.g. apt-get install cargo)" };
  if (!which("cc")) return { ok: false, reason: "no C compiler (cc) for blake3's SIMD code: apt-get install gcc" };

  const missing = missingDebianCrates();
  let source: CrateSource;
  let offline: boolean;
  if (requested === "debian") {
    if (missing.length) {
      return { ok: false, reason: `Debian crates missing in ${DEBIAN_REGISTRY}: ${missing.join(", ")}; ${APT_HINT}` };
    }
    source = "debian";
    offline = true;
  } else if (requested === "crates-io") {
    source = "crates-io";
    offline = false;
  } else {
    source = missing.length ? "crates-io" : "debian";
    offline = true;
  }
  dropForeignLockfile(source);

  const proc = Bun.spawn([cargo, ...cargoArgs(source, offline)], {
    cwd: CRATE_DIR,
    stdout: options.quiet ? "pipe" : "inherit",
    stderr: options.quiet ? "pipe" : "inherit",
  });
  const [exitCode, stderr] = await Promise.all([
    proc.exited,
    options.quiet && proc.stderr instanceof ReadableStream ? new Response(proc.stderr).text() : Promise.resolve(""),
  ]);
  if (exitCode !== 0) {
    const hint =
      requested === "auto" && missing.length
        ? ` (Debian crates missing: ${missing.join(", ")}; ${APT_HINT}, or ROAR_HASH_CRATES=crates-io with network)`
        : "";
    const tail = stderr.trim().split("\n").slice(-5).join("\n");
    return {
      ok: false,
      source,
      reason: `cargo build failed with exit code ${exitCode}${hint}${tail ? `\n${tail}` : ""}`,
    };
  }
  const library = join(TARGET_DIR, "release", process.platform === "darwin" ? "libroar_hash.dylib" : "libroar_hash.so");
  if (!existsSync(library)) return { ok: false, source, reason: `cargo succeeded but ${library} is missing` };
  return { ok: true, library, source };
}

if (import.meta.main) {
  const result = await buildNativeHash();
  if (result.ok) {
    console.error(`native hash kernel: ${result.library} (crates from ${result.source})`);
  } else {
    console.error(`native hash kernel not built: ${result.reason}`);
    console.error("roar still works: it hashes with blake3-wasm (slower) when libroar_hash is missing.");
    process.exit(1);
  }
}
