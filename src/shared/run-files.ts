/**
 * How many files each command line recorded last time, kept for a compiled executable's choice to restart with
 * roar's options or not (compiledRestart, src/shared/jit-options.ts).
 */
import { readCache, writeCache } from "./cache.ts";
import { RESTART_MIN_FILES, RUN_FILES_CACHE, runFilesKey } from "./jit-options.ts";
import { isCompiled } from "./self.ts";

/** Command lines kept, the most recently changed last: a project's steps, several projects over. */
const KEPT = 256;

/** Notes the files a run of this command line (roar's arguments, from `cwd`) recorded; a write only when the choice changes. */
export function noteRunFiles(args: readonly string[], cwd: string, files: number): void {
  if (!isCompiled()) return; // only a compiled executable restarts (bin/roar's bundle never does)
  const known = readCache<Record<string, unknown>>(RUN_FILES_CACHE) ?? {};
  const key = runFilesKey(args, cwd);
  const before = known[key];
  if (typeof before === "number" && before < RESTART_MIN_FILES === files < RESTART_MIN_FILES) return;
  delete known[key];
  known[key] = files;
  const keys = Object.keys(known);
  for (const old of keys.slice(0, Math.max(0, keys.length - KEPT))) delete known[old];
  writeCache(RUN_FILES_CACHE, known);
}
