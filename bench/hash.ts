/**
 * Hashing benchmark (not a test): roar's hasher (native kernel and blake3-wasm) against b3sum, measured in the
 * same run on the same files, page cache warm.
 *
 *   bun bench/hash.ts [--big-mib 1024] [--files 10000] [--runs 3] [--dir /tmp/roar-hash-bench]
 *
 * Figures: a 1 GiB file (vs `b3sum`, mmap + all cores, and `b3sum --num-threads 1`), 10,000 files of 4 KiB
 * (files/s vs b3sum on the same list), and re-hashing everything unchanged through the SQLite hash cache
 * (vs only stat-ing the same paths; the goal is at most 2x).
 */
import { Database } from "bun:sqlite";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { close, hashFiles, hashKernel, isHashError, type KernelName } from "../src/hash/index.ts";
import { SqliteHashCache } from "../src/store/hash-cache.ts";

const { values: args } = parseArgs({
  options: {
    "big-mib": { type: "string", default: "1024" },
    files: { type: "string", default: "10000" },
    runs: { type: "string", default: "3" },
    dir: { type: "string", default: join(tmpdir(), "roar-hash-bench") },
  },
});
const BIG_BYTES = Number(args["big-mib"]) * 1024 * 1024;
const FILE_COUNT = Number(args.files);
const SMALL_BYTES = 4096;
const RUNS = Number(args.runs);
const DIR = args.dir ?? join(tmpdir(), "roar-hash-bench");
const BIG = join(DIR, `big-${args["big-mib"]}MiB.bin`);
const SMALL_DIR = join(DIR, `small-${FILE_COUNT}`);
const B3SUM = Bun.which("b3sum");

function prepare(): string[] {
  mkdirSync(SMALL_DIR, { recursive: true });
  if (!existsSync(BIG) || statSync(BIG).size !== BIG_BYTES) {
    const block = new Uint8Array(64 * 1024 * 1024);
    crypto.getRandomValues(block.subarray(0, 65536));
    for (let i = 65536; i < block.length; i += 65536) block.copyWithin(i, 0, 65536);
    // Vary each block so no two blocks are identical (BLAKE3 speed does not depend on content, but be honest).
    const fd = openSync(BIG, "w");
    for (let written = 0; written < BIG_BYTES; written += block.length) {
      block[0] = (written / block.length) & 0xff;
      writeSyncAll(fd, block.subarray(0, Math.min(block.length, BIG_BYTES - written)));
    }
    closeSync(fd);
  }
  const paths: string[] = [];
  const content = new Uint8Array(SMALL_BYTES);
  for (let i = 0; i < FILE_COUNT; i++) {
    const path = join(SMALL_DIR, `f${String(i).padStart(5, "0")}.bin`);
    if (!existsSync(path)) {
      crypto.getRandomValues(content);
      writeFileSync(path, content);
    }
    paths.push(path);
  }
  return paths;
}

function writeSyncAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

/** Reads a file once so that every contender finds it in the page cache. */
function warm(path: string): void {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  while (readSync(fd, buf, 0, buf.length, null) > 0) {}
  closeSync(fd);
}

async function best(runs: number, fn: () => Promise<void> | void): Promise<number> {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    bestMs = Math.min(bestMs, performance.now() - start);
  }
  return bestMs;
}

function b3sum(argv: string[], expectLines: number): void {
  if (!B3SUM) throw new Error("b3sum missing");
  const proc = Bun.spawnSync([B3SUM, ...argv], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`b3sum failed: ${proc.stderr.toString()}`);
  const lines = proc.stdout.toString().trimEnd().split("\n").length;
  if (lines !== expectLines) throw new Error(`b3sum printed ${lines} lines, expected ${expectLines}`);
}

async function ours(paths: string[], kernel: KernelName, extra: Parameters<typeof hashFiles>[1] = {}): Promise<void> {
  const results = await hashFiles(paths, { kernel, ...extra });
  for (const result of results.values()) if (isHashError(result)) throw new Error(result.error);
}

const rows: string[][] = [];
function report(figure: string, value: string, reference: string, ratio: string): void {
  rows.push([figure, value, reference, ratio]);
  console.log(`  ${figure}: ${value}  |  ${reference}  |  ${ratio}`);
}
const gbps = (bytes: number, ms: number) => bytes / (ms / 1000) / 1e9;
const fmtGB = (v: number) => `${v.toFixed(2)} GB/s`;
const fmtFiles = (v: number) => `${Math.round(v).toLocaleString("en-US")} files/s`;

async function main(): Promise<void> {
  console.log(`roar hash benchmark: ${availableParallelism()} cores, ${DIR}`);
  if (!B3SUM) console.log("b3sum is not installed, so there are no reference figures: apt-get install b3sum");
  const smallPaths = prepare();
  warm(BIG);
  for (const path of smallPaths) warm(path);

  const kernels: KernelName[] = [];
  const native = await hashKernel("auto");
  if (native.kernel === "native") kernels.push("native");
  else console.log(`native kernel unavailable (${native.fallbackReason}); build it: bun scripts/build-native-hash.ts`);
  kernels.push("wasm");
  for (const kernel of kernels) await hashKernel(kernel); // start the pools outside the timings

  console.log(`\n1. one file of ${BIG_BYTES / 2 ** 20} MiB, warm page cache (best of ${RUNS})`);
  const b3All = B3SUM ? await best(RUNS, () => b3sum([BIG], 1)) : Number.NaN;
  const b3One = B3SUM ? await best(RUNS, () => b3sum(["--num-threads", "1", BIG], 1)) : Number.NaN;
  if (B3SUM) {
    report("b3sum (mmap, all cores)", fmtGB(gbps(BIG_BYTES, b3All)), "reference", "1.00");
    report("b3sum --num-threads 1", fmtGB(gbps(BIG_BYTES, b3One)), "reference", "1.00");
  }
  for (const kernel of kernels) {
    const ms = await best(kernel === "wasm" ? 1 : RUNS, () => ours([BIG], kernel));
    const v = gbps(BIG_BYTES, ms);
    report(
      `roar ${kernel}`,
      fmtGB(v),
      `b3sum ${fmtGB(gbps(BIG_BYTES, b3All))} / 1 thread ${fmtGB(gbps(BIG_BYTES, b3One))}`,
      `${(v / gbps(BIG_BYTES, b3All)).toFixed(2)}x of b3sum, ${(v / gbps(BIG_BYTES, b3One)).toFixed(2)}x of 1 thread`,
    );
  }
  if (kernels.includes("native")) {
    const ms = await best(RUNS, () => ours([BIG], "native", { algorithms: ["sha256"] }));
    report("roar native + sha256 (same pass)", fmtGB(gbps(BIG_BYTES, ms)), "-", "-");
  }

  console.log(`\n2. ${FILE_COUNT.toLocaleString("en-US")} files of ${SMALL_BYTES} bytes (best of ${RUNS})`);
  const b3Files = B3SUM ? await best(RUNS, () => b3sum(smallPaths, smallPaths.length)) : Number.NaN;
  const b3Rate = FILE_COUNT / (b3Files / 1000);
  if (B3SUM) report("b3sum FILE...", fmtFiles(b3Rate), "reference", "1.00");
  for (const kernel of kernels) {
    const ms = await best(RUNS, () => ours(smallPaths, kernel));
    const rate = FILE_COUNT / (ms / 1000);
    report(`roar ${kernel}`, fmtFiles(rate), `b3sum ${fmtFiles(b3Rate)}`, `${(rate / b3Rate).toFixed(2)}x`);
  }

  console.log("\n3. re-hashing everything unchanged through the SQLite hash cache");
  const dbPath = join(DIR, "cache.sqlite");
  rmSync(dbPath, { force: true });
  const db = new Database(dbPath);
  db.run("PRAGMA journal_mode = WAL");
  SqliteHashCache.createTable(db);
  const cache = new SqliteHashCache(db);
  const all = [BIG, ...smallPaths];
  // The racy-timestamp guard needs the files' timestamps to be older than 1 s when they are first hashed.
  await Bun.sleep(1100);
  const fill = await best(1, () => ours(all, kernels[0] ?? "wasm", { cache }));
  const check = await hashFiles(all, { cache });
  const hits = [...check.values()].filter((r) => !isHashError(r) && r.cached).length;
  console.log(`  first pass (fills the cache): ${(fill / 1000).toFixed(2)} s; second pass hits ${hits}/${all.length}`);
  const statMs = await best(Math.max(RUNS, 5), () => {
    for (const path of all) statSync(path, { bigint: true });
  });
  // More runs here: these are ~0.1 s each and the first ones include JIT warm-up.
  const cachedMs = await best(Math.max(RUNS, 5), () => ours(all, kernels[0] ?? "wasm", { cache }));
  report(
    `roar, ${all.length.toLocaleString("en-US")} files unchanged (cache hits)`,
    `${cachedMs.toFixed(1)} ms`,
    `stat only ${statMs.toFixed(1)} ms`,
    `${(cachedMs / statMs).toFixed(2)}x of stat (goal <= 2x)`,
  );
  db.close();

  console.log("\nsummary (figure | ours | reference | ratio)");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

try {
  await main();
} finally {
  close();
}
