/**
 * Finding and opening roar's native libraries (the tracers, the native hash kernel). This directory is the
 * only user of bun:ffi. Search order: $ROAR_TRACER_LIB_DIR, next to a compiled roar binary, the source
 * tree's cargo output (rust/target/release), then libraries embedded in a compiled binary (see build.ts).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isCompiled } from "../core/self.ts";

export type NativeLibrary = "roar_ptrace" | "roar_preload" | "roar_hash";

const embedded = new Map<NativeLibrary, string>();

/** build.ts registers the paths of libraries embedded in a compiled binary. */
export function registerEmbeddedLibrary(name: NativeLibrary, path: string): void {
  embedded.set(name, path);
}

export function libraryFileName(name: NativeLibrary): string {
  return process.platform === "darwin" ? `lib${name}.dylib` : `lib${name}.so`;
}

export function librarySearchDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.ROAR_TRACER_LIB_DIR) dirs.push(resolve(process.env.ROAR_TRACER_LIB_DIR));
  dirs.push(dirname(process.execPath));
  // The source tree's cargo output, when running from source (a compiled binary carries its own copies).
  if (!isCompiled()) dirs.push(resolve(import.meta.dir, "../../rust/target/release"));
  return dirs;
}

/**
 * Files embedded in a compiled binary live in Bun's virtual filesystem; dlopen and LD_PRELOAD need a real
 * file, so each library is copied once to $XDG_CACHE_HOME/roar/lib/<content hash>/.
 */
function extracted(name: NativeLibrary, embeddedPath: string): string | null {
  try {
    // Only readFileSync/Bun.file are supported on embedded files (no stat, no copy).
    const bytes = readFileSync(embeddedPath);
    const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), ".cache");
    const dir = join(base, "roar", "lib", Bun.hash(bytes).toString(16));
    const target = join(dir, libraryFileName(name));
    if (!existsSync(target)) {
      mkdirSync(dir, { recursive: true });
      const tmp = `${target}.${process.pid}`;
      writeFileSync(tmp, bytes, { mode: 0o755 });
      renameSync(tmp, target);
    }
    return target;
  } catch {
    return null;
  }
}

/** Absolute path of a native library, or null when it is not built/installed. */
export function findLibrary(name: NativeLibrary): string | null {
  const file = libraryFileName(name);
  for (const dir of librarySearchDirs()) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  const embeddedPath = embedded.get(name);
  return embeddedPath ? extracted(name, embeddedPath) : null;
}
