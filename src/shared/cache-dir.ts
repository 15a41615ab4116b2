/**
 * roar's directory in the user's cache as the environment names it, importing nothing: the compiled executable's
 * entry reads a cache file before it may restart (src/shared/jit-options.ts), where loading node:path and node:os
 * would be spent for nothing.
 */

/** $XDG_CACHE_HOME/roar, else $HOME/.cache/roar; null when neither is set (cache.ts then asks the OS for home). */
export function cacheDirFromEnv(env: Record<string, string | undefined>): string | null {
  const base = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : null);
  return base ? `${base}/roar` : null;
}
