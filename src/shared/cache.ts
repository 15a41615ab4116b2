/** Small JSON caches under $XDG_CACHE_HOME/roar/ for facts that are slow to learn and rarely change. */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { cacheDirFromEnv } from "./cache-dir.ts";

/** roar's directory in the user's cache: $XDG_CACHE_HOME/roar, by default ~/.cache/roar. */
export function userCacheDir(): string {
  return cacheDirFromEnv(process.env) ?? join(homedir(), ".cache", "roar");
}

export function cacheFile(name: string): string {
  return join(userCacheDir(), name);
}

export function readCache<T>(name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(cacheFile(name), "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Atomic replace; failures are ignored (a cache is an optimisation only). */
export function writeCache(name: string, value: unknown): void {
  try {
    const path = cacheFile(name);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, path);
  } catch {
    // read-only home, full disk: carry on uncached
  }
}

/**
 * What a cached fact about a file (or directory) is keyed by: its device, inode, size, and modification and change
 * times in nanoseconds — any write, replacement or rename over it gives another stamp. Null when it cannot be stat'ed.
 */
export function fileStamp(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}
