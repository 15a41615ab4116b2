/**
 * Finding and opening roar's native libraries (the tracers, the native hash kernel). This directory is the
 * only user of bun:ffi. Search order: $ROAR_TRACER_LIB_DIR, next to a compiled roar binary, the source
 * tree's cargo output (rust/target/release; for a compiled roar, the checkout's that bin/roar started it from,
 * see checkout-executable.ts), then libraries embedded in a compiled binary (see scripts/compile.ts), extracted
 * once to a content-addressed cache.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { userCacheDir } from "./cache.ts";
import { CHECKOUT_LIBRARIES, type CheckoutLibraries } from "./checkout-executable.ts";
import { isCompiled } from "./self.ts";

export type NativeLibrary = "roar_ptrace" | "roar_preload" | "roar_hash";

/** A library embedded in a compiled binary: its path in Bun's virtual filesystem, content hash and size. */
export interface EmbeddedLibrary {
  path: string;
  hash: string;
  size: number;
}

const embedded = new Map<NativeLibrary, EmbeddedLibrary>();

/** The compiled binary's entry registers the libraries embedded in it (hash and size computed at build time). */
export function registerEmbeddedLibrary(name: NativeLibrary, library: EmbeddedLibrary): void {
  embedded.set(name, library);
}

export function libraryFileName(name: NativeLibrary): string {
  return process.platform === "darwin" ? `lib${name}.dylib` : `lib${name}.so`;
}

export function librarySearchDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.ROAR_TRACER_LIB_DIR) dirs.push(resolve(process.env.ROAR_TRACER_LIB_DIR));
  dirs.push(dirname(process.execPath));
  // The source tree's cargo output, when running from source (a compiled binary carries its own copies, the
  // very files of its checkout's when bin/roar started it: no extraction then).
  if (!isCompiled()) dirs.push(resolve(import.meta.dir, "../../rust/target/release"));
  else {
    const checkout = (globalThis as CheckoutLibraries)[CHECKOUT_LIBRARIES];
    if (checkout) dirs.push(checkout);
  }
  return dirs;
}

/**
 * Where embedded libraries are extracted, in order: $XDG_CACHE_HOME/roar/lib (default ~/.cache), then a
 * private per-user directory in $TMPDIR — so a read-only root with a read-only or missing $HOME still works.
 */
export function extractionRoots(): { dir: string; shared: boolean }[] {
  const uid = process.getuid?.() ?? 0;
  return [
    { dir: join(userCacheDir(), "lib"), shared: false },
    { dir: join(process.env.TMPDIR || tmpdir(), `roar-${uid}`, "lib"), shared: true },
  ];
}

/**
 * A directory in a shared place (/tmp) is only used when it is ours: created 0700, a real directory owned by
 * this user and writable by nobody else. Otherwise another user could put a library there for us to load.
 */
function privateDir(dir: string): boolean {
  const parent = dirname(dir);
  try {
    mkdirSync(parent, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") return false;
  }
  const st = lstatSync(parent);
  const uid = process.getuid?.() ?? 0;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
}

/** The extracted copy of an embedded library, written on first use (LD_PRELOAD and dlopen need real files). */
function extracted(name: NativeLibrary, library: EmbeddedLibrary): string | null {
  for (const root of extractionRoots()) {
    const dir = join(root.dir, library.hash);
    const target = join(dir, libraryFileName(name));
    try {
      if (root.shared && !privateDir(root.dir)) continue;
      // Content-addressed: a file of the right size under the content's hash is the library (it was renamed
      // into place whole).
      if (existsSync(target) && statSync(target).size === library.size) return target;
      // Only readFileSync/Bun.file work on embedded files (no stat, no copy).
      const bytes = readFileSync(library.path);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      const tmp = `${target}.${process.pid}`;
      writeFileSync(tmp, bytes, { mode: 0o755 });
      renameSync(tmp, target);
      return target;
    } catch {
      // Not writable (read-only filesystem, no $HOME): try the next place.
    }
  }
  return null;
}

/** Absolute path of a native library, or null when it is not built/installed. */
export function findLibrary(name: NativeLibrary): string | null {
  const file = libraryFileName(name);
  for (const dir of librarySearchDirs()) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  const library = embedded.get(name);
  return library ? extracted(name, library) : null;
}
