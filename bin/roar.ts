// roar from a checkout, as bin/roar starts it. A provenance tool must not change the environment it records: Bun
// runs this with no user .env and no user bunfig.toml, and the caller's own JavaScriptCore options are put back in
// place of roar's before anything runs (src/shared/jit-options.ts).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startEarlyGitStatus } from "../src/shared/early-git.ts";
import { startupJitPolicy } from "../src/shared/jit-options.ts";
import { newestSource } from "../src/shared/newest-source.ts";

const src = join(import.meta.dir, "../src");

/** The bytecode bundle build.ts made, while no source is newer than it (it starts ~70 ms sooner). */
function freshBundle(): string | null {
  try {
    const stamp = Number(readFileSync(join(src, ".bundle/stamp"), "utf8"));
    const pkg = statSync(join(import.meta.dir, "../package.json")).mtimeMs;
    return Math.max(newestSource(src), pkg) <= stamp ? join(src, ".bundle/roar.js") : null;
  } catch {
    return null;
  }
}

startupJitPolicy(process.argv.slice(2));
// `roar run` needs `git status` first thing: started now, it runs while the bundle loads.
startEarlyGitStatus(process.argv.slice(2), process.cwd());
const bundle = process.env.ROAR_FROM_SOURCE ? null : freshBundle();
if (bundle)
  await (require(bundle) as { done: Promise<void> }).done; // see scripts/launcher-bundle.ts
else {
  const { main } = await import("../src/main.ts");
  process.exitCode = await main(process.argv.slice(2));
}
