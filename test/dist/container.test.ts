/**
 * The compiled binary alone in a minimal Debian container (debootstrap --variant=minbase plus git, cached;
 * read-only root; no bun, no node, no checkout): init, run with each tracer, dag, reproduce --run. Its tracer
 * libraries come out of the binary into a content-addressed cache: $TMPDIR when $HOME is not writable,
 * ~/.cache when it is. Built by `bun build.ts --compile` (the suite's set-up).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hostPlatform } from "../../scripts/platforms.ts";
import { REPO_ROOT } from "../helpers/cli.ts";
import { containerRoot, containerUnavailable, runInContainer, stepOutput, stepResult } from "../helpers/container.ts";
import { b3sum } from "../helpers/reference.ts";

const platform = hostPlatform();
const BINARY = join(REPO_ROOT, `dist/roar-${platform?.name}`);
const unavailable = platform ? containerUnavailable() : `no roar build for ${process.platform}/${process.arch}`;
if (unavailable) console.error(`container tests skipped: ${unavailable}`);

interface Status {
  backends: { name: string; usable: boolean; library: string | null }[];
}
interface Job {
  inputs: { path: string; blake3: string }[];
  outputs: { path: string; blake3: string }[];
  trace: { backend: string; complete: boolean };
}

const ok = stepOutput;

describe.skipIf(unavailable !== null)("compiled roar in a minimal Debian container", () => {
  let root = "";
  beforeAll(async () => {
    expect(existsSync(BINARY)).toBe(true);
    const made = await containerRoot(platform?.debianArch === "arm64" ? "arm64" : "amd64");
    if (!made.ok) throw new Error(made.reason);
    root = made.root;
  }, 600_000);

  test("init, run with each tracer, dag, reproduce --run: read-only root, $HOME not writable", () => {
    const run = runInContainer(
      root,
      BINARY,
      `
step tools sh -c 'command -v bun node nodejs npm || true'
mkdir project && cd project
git init -q -b main
printf 'gamma\\nalpha\\nbeta\\n' > in.txt
head -c 3000001 /dev/urandom > big.bin
echo 'tr a-z A-Z < in.txt > upper.txt' > upper.sh
echo 'sort upper.txt > sorted.txt' > sort.sh
echo 'wc -l < sorted.txt > count.txt' > count.sh
echo 'cat big.bin sorted.txt > combined.bin' > combine.sh
git add -A && git commit -qm pipeline
step version roar --version
step init roar init -y
git add -A && git commit -qm 'roar init'
step status roar tracer status --json
step run-ptrace env ROAR_HASH_KERNEL=native roar run --tracer ptrace sh upper.sh
step run-preload roar run --tracer preload sh sort.sh
step run-hybrid roar run --tracer hybrid sh count.sh
step run-wasm env ROAR_HASH_KERNEL=wasm roar run sh combine.sh
for n in 1 2 3 4; do step show-$n roar show --json @$n; done
step dag roar dag
step reproduce roar reproduce count.txt --run -y
`,
      { home: "read-only" },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(ok(run, "tools")).toBe(""); // nothing but the binary: no bun, no node
    expect(ok(run, "version")).toMatch(/^roar, version \d+\.\d+\.\d+/);
    ok(run, "init");

    // $HOME is on the read-only root: the libraries come out into a private directory of $TMPDIR.
    const status = JSON.parse(ok(run, "status")) as Status;
    for (const backend of status.backends) {
      expect(backend).toMatchObject({
        usable: true,
        library: expect.stringMatching(/^\/tmp\/roar-0\/lib\/[0-9a-f]+\//),
      });
    }

    const project = join(run.work, "project");
    const expected: [string, string, string[], string[]][] = [
      ["ptrace", "ptrace", ["in.txt"], ["upper.txt"]],
      ["preload", "preload", ["upper.txt"], ["sorted.txt"]],
      ["hybrid", "hybrid", ["sorted.txt"], ["count.txt"]],
      ["wasm", "hybrid", ["big.bin", "sorted.txt"], ["combined.bin"]],
    ];
    for (const [i, [name, backend, inputs, outputs]] of expected.entries()) {
      ok(run, `run-${name}`);
      const job = JSON.parse(ok(run, `show-${i + 1}`)) as Job;
      expect(job.trace).toMatchObject({ backend, complete: true });
      // Digests by the native kernel (forced for the first job), and by the wasm fallback for the last, against b3sum.
      const digests = (files: string[]) => files.map((path) => ({ path, blake3: b3sum(join(project, path)) }));
      expect(job.inputs.map(({ path, blake3 }) => ({ path, blake3 }))).toEqual(digests(inputs));
      expect(job.outputs.map(({ path, blake3 }) => ({ path, blake3 }))).toEqual(digests(outputs));
    }

    const dag = ok(run, "dag");
    for (const step of ["@1", "@2", "@3", "@4"]) expect(dag).toContain(step);
    const reproduce = stepResult(run, "reproduce");
    expect(reproduce.code).toBe(0);
    expect(reproduce.out).toContain("target identical");
  }, 300_000);

  test("with a writable $HOME the libraries are extracted once into ~/.cache/roar/lib", () => {
    const run = runInContainer(
      root,
      BINARY,
      `
step status1 roar tracer status --json
step status2 roar tracer status --json
`,
      { home: "tmpfs" },
    );
    expect(run.code).toBe(0);
    const first = JSON.parse(ok(run, "status1")) as Status;
    const second = JSON.parse(ok(run, "status2")) as Status;
    for (const backend of first.backends) {
      expect(backend).toMatchObject({
        usable: true,
        library: expect.stringMatching(/^\/root\/\.cache\/roar\/lib\/[0-9a-f]+\//),
      });
    }
    // Content-addressed: the second process finds the same files.
    expect(second.backends.map((b) => b.library)).toEqual(first.backends.map((b) => b.library));
  }, 120_000);
});
