/**
 * The newest modification time under a source tree: bin/roar compares it with the launcher bundle's stamp on every
 * invocation (see scripts/launcher-bundle.ts), and the checkout's executable with its build's (checkout-executable.ts),
 * so this module stays small — importing the bundler's module from the launcher cost ~1.5 ms of transpiling.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Newest modification time (ms) of the files under `dir` (the bundle's own directory excluded). */
export function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === ".bundle") continue;
    const path = join(dir, e.name);
    const t = e.isDirectory() ? newestSource(path) : statSync(path).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}
