/**
 * The event decoder on roar's production path — msgpackr (the library the design names) plus the mapping of its
 * arrays to typed events (src/trace/event-record.ts) — against the purpose-built reader roar used before
 * (bench/lib/purpose-built-event-reader.ts), on the real event stream of the io job (a Python script reading
 * 20,000 files and writing 2,000, traced by the preload backend), beside the end-to-end `roar run` of that job
 * measured in the same run. The rule (18): msgpackr stays on the production path unless it makes the io
 * job slower end to end by more than 3 %. Not a test. Run: bun bench/event-decoder.ts [--runs N]
 *
 * Each reader runs in a fresh process bundled to bytecode as roar's launcher is, decoding the whole stream in
 * its first, cold call, so what loading the reader costs counts too. That is an upper bound of what `roar run`
 * pays: there the stream is decoded in pieces while the job still runs, mostly hidden behind it.
 *
 * Result on the 2-core development machine (2026-12-06, session 10, two runs, medians of 20 processes): msgpackr
 * 50.9 against 38.4 ms a process (its cold decode 34.0 against 22.7 ms), with the io job at 895 ms end to end:
 * +12.6 ms = 1.4 %; the other run +16.1 ms of 1,032 ms = 1.6 %. Within the 3 % line: msgpackr stays. Its main
 * entry also loads the optional native extractor (msgpackr-extract), ~6 ms at every start of a compiled
 * executable, so roar imports the unpack-only entry (`msgpackr/unpack-no-eval`): ~1 ms.
 *
 * Session 12: the reader processes run with roar's own JIT setting (the optimizing compilers off,
 * src/shared/jit-options.ts), as `roar run` does since. Two runs: msgpackr +5.7 and +8.6 ms a process (cold
 * decode 33.8 against 26.4 ms, 34.5 against 27.0), 0.6 and 0.8 % of the io job end to end here (884 and 1,084 ms,
 * on disk); against the tmpfs io job of bench/run-overhead.ts (~420 ms under auto) 1.4-2 %: msgpackr stays.
 *
 * Session 14, end to end, now that the io job takes ~250 ms under auto and roar's thread is busy for most of its
 * trace (so decoding hides less behind it): roar built with the purpose-built reader in place of msgpackr against
 * roar as it is, 25 paired rounds of the io job on tmpfs: msgpackr 1.017x (249.1 against 248.0 ms, medians of
 * the paired ratios) — still within the 3 % line: msgpackr stays.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backends } from "../src/trace/backends.ts";
import { median, numberOption, time } from "./common.ts";

const runs = numberOption("--runs", 5);
const ROAR = resolve(import.meta.dir, "../bin/roar");

const root = mkdtempSync(join(tmpdir(), "roar-bench-decoder-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));
const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: root });
for (let i = 0; i < 20_000; i++) {
  const d = join(root, "in", `d${Math.floor(i / 500)}`);
  if (i % 500 === 0) mkdirSync(d, { recursive: true });
  writeFileSync(join(d, `f${i}.txt`), "some small input\n");
}
writeFileSync(
  join(root, "work.py"),
  [
    "import os",
    "for d in sorted(os.scandir('in'), key=lambda e: e.name):",
    "    for f in os.scandir(d.path):",
    "        open(f.path, 'rb').read()",
    "os.makedirs('out', exist_ok=True)",
    "for i in range(2000):",
    "    open(f'out/o{i}.txt', 'w').write(str(i))",
  ].join("\n"),
);
writeFileSync(join(root, ".gitignore"), ".roar/\nin/\nout/\nevents.bin*\nbundles/\n");
git("init", "-q", "-b", "main");
git("add", "-A");
git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "init");
Bun.spawnSync([ROAR, "init", "-n"], { cwd: root });
const python = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]).stdout.toString().trim();

// The job's real event stream, written by the preload backend.
const events = join(root, "events.bin");
const outcome = await backends.preload.start({
  argv: [python, "work.py"],
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  cwd: root,
  eventsPath: events,
}).done;
// Each reader as a bytecode bundle of its own, run in fresh processes, alternately.
const bundles = join(root, "bundles");
const readers = { msgpackr: "decode-once-msgpackr", "purpose-built": "decode-once-purpose-built" } as const;
for (const entry of Object.values(readers)) {
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, "lib", `${entry}.ts`)],
    outdir: bundles,
    target: "bun",
    format: "cjs",
    bytecode: true,
  });
  if (!built.success) throw new Error(`bundling ${entry}: ${built.logs.join("\n")}`);
}
interface Sample {
  processMs: number;
  decodeMs: number;
  events: number;
}
const samples: Record<keyof typeof readers, Sample[]> = { msgpackr: [], "purpose-built": [] };
const rounds = Math.max(20, runs * 4);
for (let i = 0; i < rounds; i++) {
  for (const reader of i % 2 ? (["purpose-built", "msgpackr"] as const) : (["msgpackr", "purpose-built"] as const)) {
    const t = performance.now();
    // With roar's own JIT setting (src/shared/jit-options.ts): the optimizing compilers off, as in `roar run`.
    const child = Bun.spawnSync(["bun", "--no-env-file", join(bundles, `${readers[reader]}.js`), events], {
      cwd: root,
      env: { ...process.env, BUN_JSC_useDFGJIT: "0" },
    });
    const processMs = performance.now() - t;
    if (child.exitCode !== 0) throw new Error(`${reader}: ${child.stderr.toString()}`);
    samples[reader].push({ processMs, ...(JSON.parse(child.stdout.toString()) as Omit<Sample, "processMs">) });
  }
}
const e2e = median(
  Array.from({ length: runs }, () => {
    rmSync(join(root, "out"), { recursive: true, force: true });
    return time([ROAR, "run", "-q", "--tracer", "preload", python, "work.py"], root);
  }),
);
const bytes = readFileSync(events);
const figure = (reader: keyof typeof readers) => ({
  processMs: median(samples[reader].map((s) => s.processMs)),
  decodeMs: median(samples[reader].map((s) => s.decodeMs)),
  events: samples[reader][0]?.events ?? 0,
});
const library = figure("msgpackr");
const reference = figure("purpose-built");
if (library.events !== reference.events) {
  throw new Error(`the readers disagree: ${library.events} against ${reference.events} events`);
}
const extra = library.processMs - reference.processMs;
console.log(
  `io job stream: ${library.events} records (${(bytes.length / 1024).toFixed(0)} KiB), ${outcome.events.length} events; medians of ${rounds} fresh processes`,
);
for (const [name, f] of [
  ["msgpackr (roar's reader)", library],
  ["purpose-built reader   ", reference],
] as const) {
  console.log(`  ${name}: process ${f.processMs.toFixed(1)} ms, its cold decode ${f.decodeMs.toFixed(1)} ms`);
}
console.log(`  roar run of the io job end to end: ${e2e.toFixed(0)} ms`);
const share = (100 * extra) / e2e;
console.log(
  `  msgpackr costs ${extra.toFixed(1)} ms more (load + cold decode) = ${share.toFixed(1)} % of the io job end to end: ${share > 3 ? "over" : "within"} the issue's 3 % line`,
);
