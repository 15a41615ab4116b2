/**
 * A checkout's launcher (bin/roar) runs the checkout's compiled roar (dist/roar, made by `bun build.ts --compile`)
 * when there is one, started as the npm launcher starts it: a standalone executable maps its module graph where
 * Bun otherwise reads and checks the ~4 MB bytecode bundle and transpiles bin/roar.ts (`roar run -q true` ~9 ms
 * sooner). bin/roar says which checkout (ROAR_CHECKOUT); the executable runs only when it was built from the
 * checkout as it is now — nothing under src/, package.json or the native libraries it embeds newer than its build
 * — and otherwise hands over to bin/roar's own way (the bundle, or the sources), as if it had never started.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { newestSource } from "./newest-source.ts";

/** Set by bin/roar for the executable it starts: the checkout (bin/roar's directory's parent). */
export const CHECKOUT_VARIABLE = "ROAR_CHECKOUT";

/**
 * Where such an executable finds its checkout's libraries (native.ts librarySearchDirs). Set in the executable's
 * entry, a module of its own (scripts/compile.ts): the value travels as a global, not a module variable.
 */
export const CHECKOUT_LIBRARIES = Symbol.for("roar.checkoutLibraries");
export type CheckoutLibraries = { [CHECKOUT_LIBRARIES]?: string };

/** What an executable's build depends on in a checkout: the newest modification time (ms) among them. */
export function newestBuildInput(root: string, libraries: readonly string[]): number {
  let newest = newestSource(join(root, "src"));
  for (const file of [join(root, "package.json"), ...libraries]) newest = Math.max(newest, statSync(file).mtimeMs);
  return newest;
}

/**
 * In an executable bin/roar started: returns when it was built from the checkout as it is (`builtFrom`: the
 * newest of its inputs then, `libraries`: the checkout's native libraries it embeds); otherwise restarts the
 * command as bin/roar runs it without an executable. Removes ROAR_CHECKOUT from the environment either way: it is
 * roar's, not the job's.
 */
export function runIfBuiltFromCheckout(builtFrom: number, libraries: readonly string[]): void {
  const given = process.env[CHECKOUT_VARIABLE];
  if (given === undefined) return;
  delete process.env[CHECKOUT_VARIABLE];
  const root = resolve(given);
  let current = false;
  try {
    current =
      newestBuildInput(
        root,
        libraries.map((name) => join(root, name)),
      ) <= builtFrom;
  } catch {
    // A file it was built from is gone: not this checkout as it is.
  }
  // The libraries it embeds are the checkout's, unchanged since: loaded where they are, not extracted.
  if (current && libraries.length > 0)
    (globalThis as CheckoutLibraries)[CHECKOUT_LIBRARIES] = dirname(join(root, libraries[0] as string));
  // Arguments Bun decoded lossily (not UTF-8) would reach the restarted roar altered: this one runs them.
  if (current || process.argv.some((a) => a.includes("\uFFFD"))) return;
  const bun = Bun.which("bun");
  if (!bun) return; // bin/roar could not run it either: this roar is the best there is
  // bin/roar's last line, in the environment it gave this executable (roar's JavaScriptCore options in place, the
  // caller's own kept aside: nothing has put them back yet).
  const launcher = join(root, "bin/roar.ts");
  try {
    process.execve?.(
      bun,
      [bun, "--no-env-file", "--config=/dev/null", launcher, ...process.argv.slice(2)],
      process.env as Record<string, string>,
    );
  } catch {
    // Not restarted: this roar runs, built from older sources.
  }
}
