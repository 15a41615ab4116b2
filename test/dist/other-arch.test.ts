/**
 * The cross-built binary (dist/roar-linux-arm64 on an x64 machine) run under qemu-user-static, through
 * binfmt_misc, in a minimal Debian root of its own architecture (cached): --version, `tracer status`, the
 * native BLAKE3 kernel and the wasm fallback against the official test vectors, and a preload-traced run.
 *
 * qemu-user has no ptrace (the ptrace and hybrid backends say so), and it refuses the clone(CLONE_VM) that
 * starts the preload supervisor (EINVAL), so a traced run cannot work under emulation; the run test pins
 * down that it fails with that message rather than hanging or recording a wrong job.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostPlatform, PLATFORMS } from "../../scripts/platforms.ts";
import { hermeticEnv, REPO_ROOT, tempRepo } from "../helpers/cli.ts";
import { containerRoot, containerUnavailable, runInContainer, stepOutput, stepResult } from "../helpers/container.ts";
import { b3sum } from "../helpers/reference.ts";

const host = hostPlatform();
const other = PLATFORMS.find((p) => p !== host);
const BINARY = join(REPO_ROOT, `dist/roar-${other?.name}`);
const HOST_BINARY = join(REPO_ROOT, `dist/roar-${host?.name}`);
const unavailable = !host || !other ? "no other Linux platform to emulate" : containerUnavailable();
if (unavailable) console.error(`emulated-architecture tests skipped: ${unavailable}`);

const ok = stepOutput;

describe.skipIf(unavailable !== null)(`dist/roar-${other?.name} under qemu-user`, () => {
  let root = "";
  beforeAll(async () => {
    // Built by `bun build.ts --compile` (cross toolchain in a cached Debian forky root); it says why when not.
    expect(existsSync(BINARY)).toBe(true);
    const made = await containerRoot(other?.debianArch === "arm64" ? "arm64" : "amd64");
    if (!made.ok) throw new Error(made.reason);
    root = made.root;
  }, 900_000);

  test("--version and tracer status: the preload library of its architecture loads; no ptrace under qemu", () => {
    const run = runInContainer(
      root,
      BINARY,
      "step machine uname -m\nstep version roar --version\nstep status roar tracer status --json",
      { home: "read-only" },
    );
    expect(run.code).toBe(0);
    expect(ok(run, "machine").trim()).toBe(other?.cpu === "arm64" ? "aarch64" : "x86_64");
    expect(ok(run, "version")).toMatch(/^roar, version \d+\.\d+\.\d+/);
    const status = JSON.parse(ok(run, "status")) as {
      backends: { name: string; usable: boolean; reason: string; library: string | null }[];
    };
    const byName = Object.fromEntries(status.backends.map((b) => [b.name, b]));
    // Loading it (dlopen + ABI check) in an emulated process proves the library is of the right architecture.
    expect(byName.preload).toMatchObject({ usable: true, library: expect.stringMatching(/^\/tmp\/roar-0\/lib\//) });
    expect(byName.ptrace?.usable).toBe(false);
    expect(byName.ptrace?.reason).toContain("not implemented");
    expect(byName.hybrid?.usable).toBe(false);
  }, 180_000);

  test("its native BLAKE3 kernel and the wasm fallback give the official BLAKE3 test vectors (roar status re-hashes)", () => {
    // Files with the official vectors' inputs (byte i = i % 251), recorded on the host, plus a large file for
    // the parallel path; roar status under emulation must find each one's recorded digest again.
    const vectors = (
      JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/hash/blake3_test_vectors.json"), "utf8")) as {
        cases: { input_len: number; hash: string }[];
      }
    ).cases;
    const lengths = [...vectors.map((v) => v.input_len), 3 * 1024 * 1024 + 7];
    const repo = tempRepo({
      "gen.py": `for n in ${JSON.stringify(lengths)}:\n    open(f"v{n}.bin", "wb").write(bytes(i % 251 for i in range(n)))\n`,
    });
    const env = hermeticEnv(join(repo, ".test-home"), { ROAR_TRACER_LIB_DIR: undefined });
    const roarHost = (...args: string[]) => {
      const r = Bun.spawnSync([HOST_BINARY, ...args], { cwd: repo, env, stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`roar ${args.join(" ")}: ${r.stderr.toString()}`);
      return r.stdout.toString();
    };
    roarHost("init", "-n");
    writeFileSync(join(repo, ".gitignore"), ".test-home/\n.roar/\n");
    Bun.spawnSync(["git", "commit", "-qam", "roar"], { cwd: repo, env });
    roarHost("run", "python3", "gen.py");
    const job = JSON.parse(roarHost("show", "--json", "@1")) as { outputs: { path: string; blake3: string }[] };
    const recorded = Object.fromEntries(job.outputs.map((o) => [o.path, o.blake3]));
    for (const v of vectors) expect(recorded[`v${v.input_len}.bin`]).toBe(v.hash.slice(0, 64));
    const large = `v${lengths.at(-1)}.bin`;
    expect(recorded[large]).toBe(b3sum(join(repo, large)));

    // New mtimes defeat the hash cache; one file gets other bytes of the same size.
    const later = new Date(Date.now() + 5_000);
    for (const n of lengths) utimesSync(join(repo, `v${n}.bin`), later, later);
    const changed = join(repo, "v2049.bin");
    const bytes = readFileSync(changed);
    bytes[2048] = (bytes[2048] ?? 0) ^ 0xff; // in the last chunk
    writeFileSync(changed, bytes);

    const run = runInContainer(
      root,
      BINARY,
      "step native env ROAR_HASH_KERNEL=native roar status --json --all\ntouch v*.bin\nstep wasm env ROAR_HASH_KERNEL=wasm roar status --json --all",
      { home: "read-only", work: repo },
    );
    expect(run.code).toBe(0);
    const expected = Object.fromEntries(lengths.map((n) => [`v${n}.bin`, n === 2049 ? "modified" : "present"]));
    for (const kernel of ["native", "wasm"]) {
      const status = JSON.parse(ok(run, kernel)) as { artifacts: { path: string; state: string }[] };
      const states = Object.fromEntries(status.artifacts.map((a) => [a.path, a.state]));
      expect({ kernel, states }).toEqual({ kernel, states: expected });
    }
  }, 300_000);

  test("a preload-traced run under qemu-user: recorded completely, or refused with the known clone(CLONE_VM) error", () => {
    const run = runInContainer(
      root,
      BINARY,
      `
mkdir project && cd project
git init -q -b main
echo alpha > in.txt
echo 'tr a-z A-Z < in.txt > upper.txt' > upper.sh
git add -A && git commit -qm data
step init roar init -y
git add -A && git commit -qm roar
step run roar run --tracer preload sh upper.sh
step show roar show --json @1
`,
      { home: "read-only" },
    );
    expect(run.code).toBe(0);
    ok(run, "init");
    const traced = stepResult(run, "run");
    if (traced.code === 0) {
      const job = JSON.parse(ok(run, "show")) as { outputs: { path: string; blake3: string }[]; trace: unknown };
      expect(job.trace).toMatchObject({ backend: "preload", complete: true });
      expect(job.outputs).toEqual([
        expect.objectContaining({ path: "upper.txt", blake3: b3sum(join(run.work, "project/upper.txt")) }),
      ]);
    } else {
      // qemu-user's clone() takes CLONE_VM only for threads or vfork: the supervisor cannot start. One clear
      // error, exit 125, no job recorded.
      console.error(`preload under qemu-user: ${traced.err.trim()}`);
      expect(traced.code).toBe(125);
      expect(traced.err).toContain("the preload supervisor could not start (errno 22)");
      expect(stepResult(run, "show").code).not.toBe(0);
    }
  }, 180_000);
});
