/**
 * The platforms roar is distributed for: one compiled binary each (dist/roar-<name>) and one npm package each
 * (@roar-cli/<name>). Which of them a build can produce depends on the tracer libraries it can build here;
 * `unsupportedPlatforms` says why the others are not built at all.
 */
import { join } from "node:path";

export interface Platform {
  /** npm-style name: linux-x64, linux-arm64. */
  name: string;
  os: "linux";
  cpu: "x64" | "arm64";
  /** `bun build --compile --target`. */
  bunTarget: string;
  rustTriple: string;
  /** Debian's name for the architecture (dpkg --print-architecture). */
  debianArch: string;
  /** The cross C compiler/linker Debian ships for it. */
  gccTriple: string;
}

export const PLATFORMS: Platform[] = [
  {
    name: "linux-x64",
    os: "linux",
    cpu: "x64",
    bunTarget: "bun-linux-x64",
    rustTriple: "x86_64-unknown-linux-gnu",
    debianArch: "amd64",
    gccTriple: "x86_64-linux-gnu",
  },
  {
    name: "linux-arm64",
    os: "linux",
    cpu: "arm64",
    bunTarget: "bun-linux-arm64",
    rustTriple: "aarch64-unknown-linux-gnu",
    debianArch: "arm64",
    gccTriple: "aarch64-linux-gnu",
  },
];

/** Platforms Bun could compile for but roar is not built for, and why (shown by build.ts, README's table). */
export const UNSUPPORTED_PLATFORMS: { name: string; reason: string }[] = [
  {
    name: "linux-x64-musl, linux-arm64-musl",
    reason:
      "no Rust standard library for the *-linux-musl targets here (rustup cannot download targets; Debian packages none), so no musl tracer libraries; the glibc libraries cannot load into a musl process",
  },
  {
    name: "darwin-x64, darwin-arm64",
    reason:
      "roar's tracers are Linux-only (ptrace, seccomp, LD_PRELOAD over Linux system calls) and there is no macOS linker or SDK here",
  },
];

/** The platform this process runs on, if roar is built for it. */
export function hostPlatform(): Platform | undefined {
  if (process.platform !== "linux") return undefined;
  return PLATFORMS.find((p) => p.cpu === process.arch);
}

/** Where cargo leaves a platform's libraries: the native build in rust/target/release, cross builds per triple. */
export function libraryDir(root: string, platform: Platform): string {
  return platform === hostPlatform()
    ? join(root, "rust/target/release")
    : join(root, "rust/target", platform.rustTriple, "release");
}

export const NATIVE_LIBRARIES = ["roar_ptrace", "roar_preload", "roar_hash"] as const;
/** The libraries without which a platform is not built (roar_hash is optional: blake3-wasm stands in). */
export const REQUIRED_LIBRARIES = ["roar_ptrace", "roar_preload"] as const;
