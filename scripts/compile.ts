/**
 * `bun build --compile` of roar into dist/roar: a self-contained executable that never reads the user's
 * .env or bunfig.toml (autoloadDotenv/autoloadBunfig off).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export async function compileExecutables(root: string): Promise<void> {
  const outdir = join(root, "dist");
  mkdirSync(outdir, { recursive: true });
  const result = await Bun.build({
    entrypoints: [join(root, "src/compiled.ts")],
    compile: {
      outfile: join(outdir, "roar"),
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: false,
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("bun build --compile failed");
  }
  console.error(`build: wrote ${join(outdir, "roar")}`);
}
