/**
 * The directory for heavy things kept between builds and test runs (Debian roots, the cross toolchain, the
 * local npm registry's install): $ROAR_TEST_CACHE, else $XDG_CACHE_HOME/roar-test, else ~/.cache/roar-test.
 */
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export function cacheDir(...parts: string[]): string {
  const base =
    process.env.ROAR_TEST_CACHE ||
    join(process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), ".cache"), "roar-test");
  const dir = join(base, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}
