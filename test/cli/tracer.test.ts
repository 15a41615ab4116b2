import { expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, REPO_ROOT, ROAR_BIN, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";

interface Status {
  schemaVersion: number;
  default: string;
  auto: string | null;
  backends: { name: string; usable: boolean; reason: string; library: string | null }[];
}

test("roar tracer status --json reports all three backends usable here, and auto picks hybrid", async () => {
  const repo = tempRepo();
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.schemaVersion).toBe(1);
  expect(status.default).toBe("auto");
  const byName = Object.fromEntries(status.backends.map((b) => [b.name, b]));
  expect(byName.ptrace?.usable).toBe(true);
  expect(byName.preload?.usable).toBe(true);
  expect(byName.preload?.library).toMatch(/libroar_preload\.so$/);
  expect(byName.hybrid?.usable).toBe(true);
  expect(byName.hybrid?.library).toMatch(/libroar_ptrace\.so$/);
  expect(status.auto).toBe("hybrid");
});

test("roar tracer status (text) lists hybrid and says auto picks it", async () => {
  const repo = tempRepo();
  const out = await roar(["tracer", "status"], { cwd: repo });
  expect(out.code).toBe(0);
  expect(out.stdout).toContain("picks hybrid");
  expect(out.stdout).toMatch(/hybrid\s+usable/);
});

test("roar tracer set-default validates and writes tracer.default", async () => {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  const bad = await roar(["tracer", "set-default", "ebpf"], { cwd: repo });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("auto, hybrid, ptrace, preload");
  const ok = await roar(["tracer", "set-default", "preload"], { cwd: repo });
  expect(ok.code).toBe(0);
  expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toContain('default = "preload"');
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.default).toBe("preload");
});

// Read-only opens reach the ptrace backend through a seccomp listener (Linux ≥ 5.5) or, with
// ROAR_PTRACE_NOTIFY=0 (and on older kernels), as ptrace stops: both must record the same job. The same
// holds for a static program under hybrid, whose injected filter has a listener or not.
let staticCopy: string | null | undefined;
function buildStaticCopy(): string | null {
  if (staticCopy !== undefined) return staticCopy;
  const dir = tempDir("roar-static-copy-");
  writeFileSync(
    join(dir, "copy.c"),
    [
      "#include <fcntl.h>",
      "#include <unistd.h>",
      "int main(int argc, char **argv) {",
      "  char buf[4096]; int in = open(argv[1], O_RDONLY); if (in < 0) return 2;",
      "  int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644); if (out < 0) return 3;",
      "  ssize_t n; while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, n) != n) return 4;",
      "  return close(out) != 0;",
      "}",
    ].join("\n"),
  );
  const cc = Bun.spawnSync(["cc", "-O1", "-static", "-o", join(dir, "copy"), join(dir, "copy.c")], { stderr: "pipe" });
  staticCopy = cc.exitCode === 0 ? join(dir, "copy") : null;
  return staticCopy;
}

interface TracedJob {
  inputs: { path: string }[];
  outputs: { path: string }[];
  trace: { backend: string; complete: boolean };
}

/** `roar run --tracer <tracer> --json <argv>` in a fresh repository holding `files`, with the listener on/off. */
async function runTraced(
  tracer: string,
  notify: string,
  files: Record<string, string>,
  argv: string[],
): Promise<{ job: TracedJob; repo: string }> {
  const repo = tempRepo(files);
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  const r = await roar(["run", "--tracer", tracer, "--json", ...argv], {
    cwd: repo,
    env: { ROAR_PTRACE_NOTIFY: notify },
  });
  expect(r.code).toBe(0);
  const job = JSON.parse(r.stdout) as TracedJob;
  expect(job.trace).toMatchObject({ backend: tracer, complete: true });
  return { job, repo };
}

for (const notify of ["1", "0"]) {
  const state = notify === "1" ? "on" : "off";
  test(`hybrid records a static program's input and output with the injected listener ${state}`, async () => {
    const copy = buildStaticCopy();
    expect(copy).not.toBeNull();
    const { job, repo } = await runTraced("hybrid", notify, { "in.txt": "static input\n" }, [
      copy ?? "",
      "in.txt",
      "out.txt",
    ]);
    expect(job.inputs.map((i) => i.path)).toEqual(["in.txt"]);
    expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
    expect(readFileSync(join(repo, "out.txt"), "utf8")).toBe("static input\n");
  });

  test(`ptrace records inputs and outputs with the seccomp listener ${state}`, async () => {
    const files = {
      "copy.py": "import sys\ndata = open(sys.argv[1], 'rb').read()\nopen(sys.argv[2], 'wb').write(data[::-1])\n",
      "in.txt": "abc\n",
    };
    const { job } = await runTraced("ptrace", notify, files, ["python3", "copy.py", "in.txt", "out.txt"]);
    expect(job.inputs.map((i) => i.path)).toEqual(["in.txt"]);
    expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
  });
}

test("a usable preload library is remembered by its file: a changed file is probed again", async () => {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  const libs = tempDir("roar-libs-");
  const lib = join(libs, "libroar_preload.so");
  copyFileSync(join(REPO_ROOT, "rust/target/release/libroar_preload.so"), lib);
  const env = { ROAR_TRACER_LIB_DIR: libs };
  const first = await roar(["run", "-q", "--tracer", "preload", "true"], { cwd: repo, env });
  expect({ code: first.code, err: first.stderr }).toEqual({ code: 0, err: "" });
  // Remembered: the next runs do not load the library to read its ABI version.
  expect(existsSync(join(repo, ".test-home/.cache/roar/preload-probe.json"))).toBe(true);
  // Another file at that path (here not a library at all) is not taken on the memory of the first.
  rmSync(lib);
  writeFileSync(lib, "not a shared library\n");
  const changed = await roar(["run", "-q", "--tracer", "preload", "true"], { cwd: repo, env });
  expect(changed.code).toBe(125);
  expect(changed.stderr).toContain("the preload tracer is not usable here: cannot load");
  // The real one back: usable again.
  rmSync(lib);
  copyFileSync(join(REPO_ROOT, "rust/target/release/libroar_preload.so"), lib);
  expect((await roar(["run", "-q", "--tracer", "preload", "true"], { cwd: repo, env })).code).toBe(0);
}, 60_000);

test("a roar run under another tracer probes ptrace for itself and leaves no verdict behind", async () => {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  // roar inside roar's ptrace tracer: its children are the outer tracer's, so ptrace is not usable in there.
  const inner = await roar(["run", "-q", "--tracer", "ptrace", "--", ROAR_BIN, "tracer", "status", "--json"], {
    cwd: repo,
  });
  expect({ code: inner.code, err: inner.stderr }).toEqual({ code: 0, err: "" });
  const traced = JSON.parse(inner.stdout) as Status;
  expect(traced.backends.find((b) => b.name === "ptrace")).toMatchObject({ usable: false });
  expect(traced.auto).toBe("preload");
  // That verdict was the moment's: the one remembered is still the outer roar's, and the next roar, traced by
  // nobody, may use ptrace.
  const remembered = JSON.parse(readFileSync(join(repo, ".test-home/.cache/roar/ptrace-probe.json"), "utf8"));
  expect(remembered).toMatchObject({ usable: true });
  const after = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(after.backends.find((b) => b.name === "ptrace")).toMatchObject({ usable: true });
  expect(after.auto).toBe("hybrid");
}, 60_000);
