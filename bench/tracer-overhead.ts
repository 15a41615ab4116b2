/**
 * Tracer overhead benchmark (not a test): `bun bench/tracer-overhead.ts [--runs N] [--only NAME]`.
 * Runs each workload bare, under `strace -f -e trace=file,process -o /dev/null`, under the ptrace, preload and
 * hybrid backends (those usable here), interleaved, and prints medians and ratios to bare from this one run.
 * Backend times are wall clock from `start()` to the decoded outcome, i.e. what `roar run` would add.
 * Workloads with a `check` also verify each backend's trace (e.g. that every file of a static step is seen).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backends } from "../src/trace/backends.ts";
import type { TraceOutcome, TracerBackend } from "../src/trace/types.ts";
import { IO_JOB_SCRIPT, makeTree, numberOption } from "./common.ts";

const args = process.argv.slice(2);
const runs = Math.max(3, numberOption("--runs", 5));
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;

function which(cmd: string): string | null {
  const r = Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]);
  return r.exitCode === 0 ? r.stdout.toString().trim() || null : null;
}

const root = mkdtempSync(join(tmpdir(), "roar-bench-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));
const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" };

const python = (() => {
  const p = which("python3");
  if (!p) return null;
  // The real interpreter: a pyenv shim would add a bash script and its own file reads to every run.
  return Bun.spawnSync([p, "-c", "import sys; print(sys.executable)"]).stdout.toString().trim() || null;
})();

interface Workload {
  name: string;
  dir: string;
  argv: string[];
  /** Re-run before every measurement (outputs removed so each run does the same work). */
  reset?: () => void;
  /** Checks a traced run's outcome: null when right, else what is wrong. */
  check?: (outcome: TraceOutcome) => string | null;
}

/** Paths under `dir` the trace says were opened for reading / writing by processes recorded with ptrace. */
function staticStepFiles(outcome: TraceOutcome, dir: string): { read: Set<string>; written: Set<string> } {
  const read = new Set<string>();
  const written = new Set<string>();
  for (const e of outcome.events) {
    if (e.kind !== "open" || !e.path.startsWith(`${dir}/`)) continue;
    ((e.flags & 3) === 0 ? read : written).add(e.path.slice(dir.length + 1));
  }
  return { read, written };
}

function workloads(): Workload[] {
  const list: Workload[] = [];
  if (python) {
    const dir = join(root, "py-files");
    makeTree(join(dir, "in"), 20_000, 500, () => "some small input\n");
    const script = IO_JOB_SCRIPT;
    writeFileSync(join(dir, "work.py"), script);
    list.push({
      name: "python: read 20k files, write 2k",
      dir,
      argv: [python, "work.py"],
      reset: () => rmSync(join(dir, "out"), { recursive: true, force: true }),
    });
    const cpu = join(root, "cpu");
    mkdirSync(cpu);
    list.push({
      name: "python: CPU-bound loop",
      dir: cpu,
      argv: [python, "-c", "s = 0\nfor i in range(12_000_000): s += i * i\nassert s > 0"],
    });
  }
  const tarDir = join(root, "tar");
  makeTree(join(tarDir, "tree"), 5_000, 250, () => "tar me\n");
  list.push({ name: "tar cf: 5,000-file tree", dir: tarDir, argv: ["tar", "cf", "out.tar", "tree"] });
  if (which("make") && which("cc")) {
    const mk = join(root, "make");
    mkdirSync(mk);
    const objs: string[] = [];
    for (let i = 0; i < 16; i++) {
      writeFileSync(
        join(mk, `u${i}.c`),
        `#include <stdio.h>\n#include <string.h>\nint f${i}(int x) { char b[64]; snprintf(b, sizeof b, "%d", x); return (int)strlen(b) + ${i}; }\n`,
      );
      objs.push(`u${i}.o`);
    }
    writeFileSync(
      join(mk, "main.c"),
      `${objs.map((_, i) => `int f${i}(int);`).join("\n")}\nint main(void) { return ${objs.map((_, i) => `f${i}(${i})`).join(" + ")} > 0 ? 0 : 1; }\n`,
    );
    writeFileSync(
      join(mk, "Makefile"),
      `prog: main.o ${objs.join(" ")}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c -o $@ $<\n`,
    );
    list.push({
      name: "make -j2: 17 C files",
      dir: mk,
      argv: ["make", "-s", "-j2"],
      reset: () => Bun.spawnSync(["sh", "-c", "rm -f *.o prog"], { cwd: mk }),
    });
  }
  const fileopsStatic = join(root, "fileops-static");
  const cc = Bun.spawnSync(
    ["cc", "-O1", "-static", "-o", fileopsStatic, resolve(import.meta.dir, "../test/fixtures/trace/fileops.c")],
    { stderr: "pipe" },
  );
  if (cc.exitCode === 0) {
    // A shell pipeline whose inner step is a static binary: 2,000 reads and 200 writes only ptrace can see.
    const dir = join(root, "static");
    makeTree(join(dir, "in"), 2_000, 250, () => "static input\n");
    const inputs = Array.from({ length: 2_000 }, (_, i) => `in/d${Math.floor(i / 250)}/f${i}.txt`);
    const outputs = Array.from({ length: 200 }, (_, i) => `out/o${i}.txt`);
    writeFileSync(join(dir, "list"), `${inputs.join("\n")}\n`);
    writeFileSync(join(dir, "outs"), `${outputs.join("\n")}\n`);
    list.push({
      name: "sh + static binary: read 2k, write 200",
      dir,
      argv: ["sh", "-c", `mkdir -p out && xargs -a list ${fileopsStatic} read && xargs -a outs ${fileopsStatic} write`],
      reset: () => rmSync(join(dir, "out"), { recursive: true, force: true }),
      check: (outcome) => {
        if (outcome.incomplete.length > 0)
          return `incomplete: ${[...new Set(outcome.incomplete.map((i) => i.reason))].join(", ")}`;
        const seen = staticStepFiles(outcome, dir);
        const missingIn = inputs.filter((p) => !seen.read.has(p)).length;
        const missingOut = outputs.filter((p) => !seen.written.has(p)).length;
        return missingIn + missingOut === 0 ? null : `missed ${missingIn} reads and ${missingOut} writes`;
      },
    });
  } else console.warn("cc -static failed: the static-binary workload is skipped");
  return list.filter((w) => !only || w.name.includes(only));
}

type Runner = (w: Workload) => Promise<number>;

const bare: Runner = async (w) => {
  const t0 = performance.now();
  const p = Bun.spawn(w.argv, { cwd: w.dir, env, stdout: "ignore", stderr: "inherit" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${w.name}: exit ${code}`);
  return performance.now() - t0;
};

const strace = which("strace");
const straceRunner: Runner = async (w) => {
  const t0 = performance.now();
  const argv = [strace ?? "strace", "-f", "-e", "trace=file,process", "-o", "/dev/null", ...w.argv];
  const p = Bun.spawn(argv, { cwd: w.dir, env, stdout: "ignore", stderr: "inherit" });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${w.name} under strace: exit ${code}`);
  return performance.now() - t0;
};

let eventsSeq = 0;
/** workload + backend → the check's verdict (the first problem seen, else ok). */
const checks = new Map<string, string>();
const traced =
  (backend: TracerBackend): Runner =>
  async (w) => {
    const eventsPath = join(root, `events-${eventsSeq++}.bin`);
    const t0 = performance.now();
    const outcome = await backend.start({ argv: w.argv, env, cwd: w.dir, eventsPath }).done;
    const ms = performance.now() - t0;
    for (const suffix of ["", ".preload", ".coverage"]) rmSync(`${eventsPath}${suffix}`, { force: true });
    if (outcome.exitCode !== 0) throw new Error(`${w.name} under ${backend.name}: ${JSON.stringify(outcome.exitCode)}`);
    const problem = w.check?.(outcome) ?? null;
    const key = `${w.name}\0${backend.name}`;
    if (w.check && !checks.has(key)) checks.set(key, problem ?? "every file event recorded");
    else if (problem) checks.set(key, problem);
    return ms;
  };

const columns: { name: string; run: Runner }[] = [{ name: "bare", run: bare }];
if (strace) columns.push({ name: "strace -f", run: straceRunner });
else console.warn("strace not installed: its column is skipped");
for (const b of [backends.ptrace, backends.preload, backends.hybrid]) {
  const p = b.probe();
  if (p.usable) columns.push({ name: b.name, run: traced(b) });
  else console.warn(`${b.name} backend unusable (${p.reason}): its column is skipped`);
}

const median = (all: number[]) => {
  const s = all.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const targets: Record<string, string> = {
  "python: read 20k files, write 2k": "ptrace ≤ 2.0×, preload ≤ 1.15×, hybrid ≤ 1.2×",
  "python: CPU-bound loop": "ptrace ≤ 1.03×",
  "tar cf: 5,000-file tree": "ptrace ≤ 3.0×, preload ≤ 1.15×, hybrid ≤ 1.2×",
  "sh + static binary: read 2k, write 200": "hybrid: every file event of the static step",
};

const list = workloads();
console.log(`${list.length} workloads, ${runs} runs each, columns: ${columns.map((c) => c.name).join(", ")}\n`);
// Medians as asked, and beside them the median of per-round ratios: each round runs every column back to
// back, so a slow spell on this shared 2-core machine inflates a round's bare run and its traced runs
// alike, and their ratio stays meaningful when the plain medians drift apart.
const rows: string[][] = [["workload", ...columns.map((c) => `${c.name}: median ms (×) | paired ×`), "target"]];
for (const w of list) {
  w.reset?.();
  await bare(w); // warm the page cache
  const times = columns.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of columns.entries()) {
      w.reset?.();
      try {
        times[i]?.push(await c.run(w));
      } catch (error) {
        // One broken backend must not lose the other columns' numbers.
        console.warn(`${c.name} on ${w.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        times[i]?.push(Number.NaN);
      }
    }
  }
  const medians = times.map(median);
  const bareTimes = times[0] ?? [];
  const paired = times.map((t) => median(t.map((x, r) => x / (bareTimes[r] ?? Number.NaN))));
  const base = medians[0] ?? 1;
  rows.push([
    w.name,
    ...medians.map((m, i) => `${m.toFixed(0)} (${(m / base).toFixed(2)}×) | ${(paired[i] ?? Number.NaN).toFixed(2)}×`),
    targets[w.name] ?? "",
  ]);
  console.log(`${w.name}: ${columns.map((c, i) => `${c.name} ${medians[i]?.toFixed(0)}ms`).join(", ")}`);
}

const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
console.log("");
for (const [n, r] of rows.entries()) {
  console.log(r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  "));
  if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}

if (checks.size > 0) {
  console.log("\ntrace checks:");
  for (const [key, verdict] of checks) {
    const [workload, backend] = key.split("\0");
    console.log(`  ${workload} / ${backend}: ${verdict}`);
  }
}
