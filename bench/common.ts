/** Helpers shared by the benchmark scripts (they are not tests: each prints its figures beside a reference). */

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Wall-clock milliseconds of one run of `argv` in `cwd`; throws when it fails. */
export function time(argv: string[], cwd: string): number {
  const start = performance.now();
  const r = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - start;
  if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 6).join(" ")} … exited ${r.exitCode}: ${r.stderr}`);
  return ms;
}
