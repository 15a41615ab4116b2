/** The argv prefix that runs this same roar (source launcher under Bun, or a compiled executable). */
/**
 * Running as a `bun build --compile` executable? (Bun.main is inside Bun's virtual filesystem; import.meta is
 * not a reliable sign, a CommonJS bytecode bundle bakes in the source paths.)
 */
export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/");
}

export function selfCommand(): string[] {
  if (isCompiled()) return [process.execPath];
  return [process.execPath, "--no-env-file", "--config=/dev/null", Bun.main];
}

/**
 * What to hand `new Worker()` for a worker script of the source tree (path relative to the repository root,
 * e.g. "src/hash/worker.ts"): next to the module when running from source; inside a `bun build --compile`
 * binary, where workers are extra entrypoints, the root-relative specifier that Bun maps to the bundled file.
 */
export function workerSpecifier(repoRelativePath: string, sourceUrl: URL): string {
  return isCompiled() ? `./${repoRelativePath}` : sourceUrl.href;
}
