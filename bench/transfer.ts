/**
 * 1 GiB up and down on loopback: `roar put` / `roar get` against s3rver vs a bare AWS SDK loop (bench/transfer-bare.ts),
 * and `roar get https://…` vs `curl`, each as a ratio, with the peak memory (max RSS) of every process: roar streams,
 * so its memory stays bounded (about part size × parts in flight for uploads), far below the file's size.
 * Every download is checked with b3sum against the source. Not a test: prints the figures, measured in one run.
 * Run: bun bench/transfer.ts [size in MiB, default 1024]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ROAR = join(ROOT, "bin/roar");
const MIB = 1024 * 1024;
const size = Number(process.argv[2] ?? 1024) * MIB;
const RUNS = 2;

interface Measured {
  ms: number;
  /** User + system CPU time of the process (less sensitive than wall time to a busy machine). */
  cpuMs: number;
  maxRssMiB: number;
}

/** Runs a command under GNU time; its wall time and peak resident memory. */
function measureOnce(argv: string[], cwd: string, env: Record<string, string>): Measured {
  const memFile = join(work, "time.out");
  const start = performance.now();
  const r = Bun.spawnSync(["/usr/bin/time", "-f", "%M %U %S", "-o", memFile, ...argv], {
    cwd,
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const ms = performance.now() - start;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  const [kib, user, sys] = (readFileSync(memFile, "utf8").trim().split("\n").pop() ?? "").split(" ").map(Number);
  return { ms, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, maxRssMiB: (kib ?? 0) / 1024 };
}

/**
 * The reference and roar, alternated RUNS times (the machine may be shared): the fastest run of each, and the
 * highest peak memory. `outputs[slot]` is removed before each run of that slot (a previous download).
 */
function pair(
  reference: string[],
  roar: string[],
  cwd: string,
  env: Record<string, string>,
  outputs: [string, string] | null = null,
): [Measured, Measured] {
  const best: [Measured | null, Measured | null] = [null, null];
  for (let i = 0; i < RUNS; i++) {
    for (const [slot, argv] of [reference, roar].entries()) {
      if (outputs) rmSync(outputs[slot] as string, { force: true });
      const m = measureOnce(argv, cwd, env);
      const prev = best[slot];
      best[slot] = prev
        ? {
            ms: Math.min(prev.ms, m.ms),
            cpuMs: Math.min(prev.cpuMs, m.cpuMs),
            maxRssMiB: Math.max(prev.maxRssMiB, m.maxRssMiB),
          }
        : m;
    }
  }
  return best as [Measured, Measured];
}

function b3sum(path: string): string {
  return Bun.spawnSync(["b3sum", "--no-names", path]).stdout.toString().trim();
}

function row(label: string, m: Measured, reference?: Measured): string {
  const rate = size / MIB / (m.ms / 1000);
  const ratio = reference
    ? `  ${(m.ms / reference.ms).toFixed(2)}× the reference's time, ${(m.cpuMs / reference.cpuMs).toFixed(2)}× its CPU`
    : "";
  return `  ${label.padEnd(30)} ${(m.ms / 1000).toFixed(2).padStart(7)} s  ${rate.toFixed(0).padStart(5)} MiB/s  CPU ${(m.cpuMs / 1000).toFixed(2).padStart(6)} s  peak RSS ${m.maxRssMiB.toFixed(0).padStart(5)} MiB${ratio}`;
}

const work = mkdtempSync(join(tmpdir(), "roar-bench-transfer-"));
const servers = Bun.spawn(["bun", join(import.meta.dir, "transfer-servers.ts"), join(work, "repo/big.bin")], {
  stdout: "pipe",
  stderr: "inherit",
});
try {
  const repo = join(work, "repo");
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: repo });
  Bun.spawnSync(["mkdir", "-p", repo]);
  git("init", "-q", "-b", "main");
  writeFileSync(join(repo, ".gitignore"), ".roar/\n*.bin\n");
  git("add", "-A");
  git("-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "init");
  Bun.spawnSync([ROAR, "init", "-n"], { cwd: repo });
  const source = join(repo, "big.bin");
  Bun.spawnSync(["sh", "-c", `head -c ${size} /dev/urandom > ${source}`]);
  const expected = b3sum(source);

  const reader = servers.stdout.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  const { s3, https, ca } = JSON.parse(first.split("\n")[0] as string) as {
    s3: Record<string, string>;
    https: string;
    ca: string;
  };
  const env = { ...s3, NODE_EXTRA_CA_CERTS: ca };
  const bare = join(import.meta.dir, "transfer-bare.ts");
  console.log(`${size / MIB} MiB over loopback (s3rver for S3, Bun.serve for HTTPS); wall time, rate, CPU, peak RSS`);

  console.log(`(best of ${RUNS} alternated runs each; peak RSS is the highest seen)`);

  console.log("\nUpload");
  const [bareUp, roarUp] = pair(
    ["bun", bare, "up", source, "bench", "bare/big.bin"],
    // A fresh key each time: an object already holding these bytes would not be uploaded again.
    ["sh", "-c", `${ROAR} put big.bin s3://bench/roar-$(date +%s%N)/ -m bench --no-tag`],
    repo,
    env,
  );
  console.log(row("bare SDK (lib-storage)", bareUp));
  console.log(row("roar put (hash + upload)", roarUp, bareUp));

  console.log("\nDownload (S3)");
  const [bareDown, roarDown] = pair(
    ["bun", bare, "down", join(work, "bare.bin"), "bench", "bare/big.bin"],
    [ROAR, "get", "s3://bench/bare/big.bin", "down-s3.bin"],
    repo,
    env,
    [join(work, "bare.bin"), join(repo, "down-s3.bin")],
  );
  console.log(row("bare SDK (GetObject)", bareDown));
  console.log(row("roar get (+ hash, fdatasync)", roarDown, bareDown));

  console.log("\nDownload (HTTPS)");
  const [curl, roarHttps] = pair(
    ["curl", "-sS", "--cacert", ca, "-o", join(work, "curl.bin"), https],
    [ROAR, "get", https, "down-https.bin"],
    repo,
    env,
    [join(work, "curl.bin"), join(repo, "down-https.bin")],
  );
  console.log(row("curl", curl));
  console.log(row("roar get https://", roarHttps, curl));
  console.log(
    "\nroar's share: BLAKE3 and the hash.get digests (sha256 by default) of every byte, fdatasync before the rename,",
  );
  console.log("recording the job; the references write the bytes only.");

  const checks = [
    join(work, "bare.bin"),
    join(repo, "down-s3.bin"),
    join(work, "curl.bin"),
    join(repo, "down-https.bin"),
  ];
  const bad = checks.filter((p) => b3sum(p) !== expected);
  console.log(bad.length === 0 ? "\nEvery download is byte-identical (b3sum)." : `\nMISMATCH: ${bad.join(", ")}`);
  if (bad.length > 0) process.exitCode = 1;
} finally {
  servers.kill();
  rmSync(work, { recursive: true, force: true });
}
