/**
 * The self-contained executable from `bun build.ts --compile` (built by the test set-up): it runs with its
 * embedded tracer libraries and worker scripts, and ignores the user's .env and bunfig.toml.
 */
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESTART_MIN_FILES, RUN_FILES_CACHE, RUNTIME_OPTIONS } from "../../src/shared/jit-options.ts";
import { commitAll, hermeticEnv, REPO_ROOT, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";
import { startS3Server } from "../helpers/s3-server.ts";

const COMPILED = join(REPO_ROOT, "dist/roar");

function runCompiled(args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  // No ROAR_TRACER_LIB_DIR and no source tree on the library path: only the embedded libraries can serve.
  const env = hermeticEnv(join(cwd, ".test-home"), { ROAR_TRACER_LIB_DIR: undefined });
  const r = Bun.spawnSync([COMPILED, ...args], { cwd, env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("dist/roar records a traced job with its embedded libraries and ignores .env / bunfig.toml", () => {
  expect(existsSync(COMPILED)).toBe(true); // built by `bun build.ts --compile` (npm test does it)
  const repo = tempRepo({
    "copy.py": "import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read()[::-1])\n",
    "in.txt": "compiled roar\n",
  });
  expect(runCompiled(["init", "-y"], repo).code).toBe(0);
  writeFileSync(join(repo, ".env"), "ROAR_OUTPUT__QUIET=not-a-boolean\n");
  writeFileSync(join(repo, "bunfig.toml"), 'preload = ["./boom.ts"]\n');
  writeFileSync(join(repo, "boom.ts"), 'throw new Error("user bunfig was loaded");\n');
  commitAll(repo, "setup");

  const status = JSON.parse(runCompiled(["tracer", "status", "--json"], repo).stdout) as {
    backends: { name: string; usable: boolean; library: string | null }[];
  };
  for (const b of status.backends) {
    expect(b.usable).toBe(true);
    expect(b.library).toContain(join(repo, ".test-home/.cache/roar/lib"));
  }
  // The default (auto = hybrid) and each backend forced.
  for (const [i, tracer] of ["auto", "ptrace", "preload"].entries()) {
    const out = `out-${tracer}.txt`;
    const r = runCompiled(["run", "--tracer", tracer, "python3", "copy.py", "in.txt", out], repo);
    expect(r.stderr).not.toContain("internal error");
    expect(r.code).toBe(0);
    const job = JSON.parse(runCompiled(["show", "--json", `@${i + 1}`], repo).stdout) as {
      outputs: { path: string; blake3: string }[];
      inputs: { path: string; blake3: string }[];
      trace: { backend: string; complete: boolean };
    };
    expect(job.trace).toMatchObject({ backend: tracer === "auto" ? "hybrid" : tracer, complete: true });
    expect(job.outputs).toEqual([expect.objectContaining({ path: out, blake3: b3sum(join(repo, out)) })]);
    expect(job.inputs).toEqual([expect.objectContaining({ path: "in.txt", blake3: b3sum(join(repo, "in.txt")) })]);
  }
}, 120_000);

test("dist/roar started directly restarts once for run with roar's JavaScriptCore options; the command sees none", () => {
  const repo = tempRepo();
  expect(runCompiled(["init", "-y"], repo).code).toBe(0);
  const show = "env > child.env; tr '\\0' '\\n' < /proc/$PPID/environ > parent.env";
  const r = runCompiled(["run", "-q", "sh", "-c", show], repo);
  expect(r.code).toBe(0);
  // roar's process (the command's parent) was started again with the options (src/shared/jit-options.ts).
  const parent = readFileSync(join(repo, "parent.env"), "utf8").split("\n");
  for (const [option, value] of Object.entries(RUNTIME_OPTIONS)) expect(parent).toContain(`${option}=${value}`);
  const child = readFileSync(join(repo, "child.env"), "utf8").split("\n");
  expect(child.filter((l) => l.includes("BUN_JSC_") || l.startsWith("ROAR_CALLER_"))).toEqual([]);
}, 60_000);

test("dist/roar started directly skips the restart for a command line that recorded few files last time", () => {
  const repo = tempRepo({ "count.txt": "0\n" });
  expect(runCompiled(["init", "-y"], repo).code).toBe(0);
  commitAll(repo, "setup");
  // One command line, its files as count.txt says; it notes whether roar's process (its parent) was restarted.
  const job = [
    "n=$(cat count.txt); mkdir -p many; i=0; while [ $i -lt $n ]; do i=$((i+1)); echo $i > many/f$i; done",
    "if tr '\\0' '\\n' < /proc/$PPID/environ | grep -qx BUN_JSC_useDFGJIT=0; then echo restarted; else echo not; fi > how.txt",
  ].join("; ");
  const run = (files: number) => {
    writeFileSync(join(repo, "count.txt"), `${files}\n`);
    const r = runCompiled(["run", "-q", "--allow-dirty", "sh", "-c", job], repo);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return readFileSync(join(repo, "how.txt"), "utf8").trim();
  };
  // Not seen yet: restarted. Then as many files as the last run recorded say (RESTART_MIN_FILES).
  expect(run(0)).toBe("restarted");
  expect(run(RESTART_MIN_FILES + 100)).toBe("not");
  expect(run(0)).toBe("restarted");
  expect(run(0)).toBe("not");
  const cache = JSON.parse(readFileSync(join(repo, ".test-home/.cache/roar", RUN_FILES_CACHE), "utf8"));
  expect(Object.values(cache)).toEqual([expect.any(Number)]);
  expect(Object.values(cache)[0]).toBeLessThan(RESTART_MIN_FILES);
}, 120_000);

test("without a writable $HOME the libraries go to a private $TMPDIR/roar-<uid>/, never to one others can write", () => {
  const repo = tempRepo();
  const uid = process.getuid?.() ?? 0;
  const status = (tmp: string) => {
    // HOME is a file: nothing can be created under it, as on a read-only root.
    const env = hermeticEnv("/dev/null", { ROAR_TRACER_LIB_DIR: undefined, TMPDIR: tmp });
    const r = Bun.spawnSync([COMPILED, "tracer", "status", "--json"], { cwd: repo, env, stdout: "pipe" });
    return JSON.parse(r.stdout.toString()) as { backends: { usable: boolean; library: string | null }[] };
  };
  const privateTmp = tempDir("roar-tmp-");
  for (const b of status(privateTmp).backends) {
    expect(b).toMatchObject({ usable: true, library: expect.stringContaining(join(privateTmp, `roar-${uid}/lib/`)) });
  }
  expect(statSync(join(privateTmp, `roar-${uid}`)).mode & 0o777).toBe(0o700);

  // A roar-<uid> directory that others may write to (planted, or made by someone else) is not used.
  const sharedTmp = tempDir("roar-tmp-");
  mkdirSync(join(sharedTmp, `roar-${uid}`));
  chmodSync(join(sharedTmp, `roar-${uid}`), 0o777);
  for (const b of status(sharedTmp).backends) expect(b).toMatchObject({ usable: false, library: null });
}, 60_000);

test("dist/roar puts to and gets from an S3-protocol server (the AWS SDK is a module of its own in the binary)", async () => {
  // The server answers from this process: the binary runs without blocking it (Bun.spawn, not spawnSync).
  const s3 = await startS3Server(["compiled"]);
  const repo = tempRepo();
  const compiled = async (args: string[]) => {
    const env = hermeticEnv(join(repo, ".test-home"), { ROAR_TRACER_LIB_DIR: undefined, ...s3.env() });
    const child = Bun.spawn([COMPILED, ...args], { cwd: repo, env, stdout: "pipe", stderr: "pipe" });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    return { code, stderr };
  };
  try {
    expect((await compiled(["init", "-y"])).code).toBe(0);
    writeFileSync(join(repo, "model.bin"), crypto.getRandomValues(new Uint8Array(300_000)));
    commitAll(repo, "data");
    const put = await compiled(["put", "model.bin", "s3://compiled/m/", "-m", "model"]);
    expect(put.stderr).not.toContain("roar:");
    expect(put.code).toBe(0);
    expect(b3sum(s3.objectFile("compiled", "m/model.bin"))).toBe(b3sum(join(repo, "model.bin")));

    expect((await compiled(["get", "s3://compiled/m/model.bin", "back/model.bin"])).code).toBe(0);
    expect(readFileSync(join(repo, "back/model.bin"))).toEqual(readFileSync(join(repo, "model.bin")));
  } finally {
    s3.close();
  }
}, 120_000);
