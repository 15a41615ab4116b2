/** Helpers shared by the benchmark scripts (they are not tests: each prints its figures beside a reference). */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The number after `name` on the command line (`--runs 8`), else `fallback` (also when it is not a number). */
export function numberOption(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : Number.NaN;
  return Number.isFinite(value) ? value : fallback;
}

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

/** The file-heavy Python job of issue 18: read every file under in/ (20,000 small ones), write 2,000 to out/. */
export const IO_JOB_SCRIPT = [
  "import os",
  "n = 0",
  "for d in sorted(os.scandir('in'), key=lambda e: e.name):",
  "    for f in os.scandir(d.path):",
  "        with open(f.path, 'rb') as fh: n += len(fh.read())",
  "os.makedirs('out', exist_ok=True)",
  "for i in range(2000):",
  "    with open(f'out/o{i}.txt', 'w') as fh: fh.write('result %d\\n' % i)",
  "assert n > 0",
].join("\n");

/** `files` small files under `dir`, `perDir` to a subdirectory (d0/f0.txt …); `dir` is made anew. */
export function makeTree(dir: string, files: number, perDir: number, content: (i: number) => string): void {
  rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), content(i));
  }
}
