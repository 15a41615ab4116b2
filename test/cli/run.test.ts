/**
 * `roar run` end to end: real Python scripts under the real tracer in temp git repositories; results checked
 * against b3sum / sha256sum and the files on disk.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, hermeticEnv, ROAR_BIN, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum, sha256sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

interface Io {
  path: string;
  blake3: string | null;
  size: number | null;
  flags: number;
  digests?: Record<string, string>;
}
/** `roar run --json` prints the same document as `roar show <uid> --json` (src/schema/show.ts). */
type JobJson = Omit<ShowJobJson, "packages" | "env" | "python" | "hashing" | "git" | "trace" | "inputs" | "outputs"> & {
  git: { commit?: string; branch?: string; clean?: boolean; patch?: string };
  trace: { backend: string; complete: boolean; reasons: unknown[] };
  packages: { pip: Record<string, string>; dpkg: Record<string, string> };
  python: { executable: string; version: string | null } | null;
  env: Record<string, string>;
  hashing: { files: number; cacheHits: number };
  inputs: Io[];
  outputs: Io[];
};

async function initRepo(files: Record<string, string>): Promise<string> {
  const repo = tempRepo(files);
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "roar init");
  return repo;
}

async function runJson(
  repo: string,
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; job: JobJson; stderr: string }> {
  const r = await roar(["run", "--json", ...args], { cwd: repo, env });
  let job: JobJson;
  try {
    job = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{"schemaVersion"'))) as JobJson;
  } catch {
    throw new Error(`roar run did not print a job (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, job, stderr: r.stderr };
}

const COPY_PY = `import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data.upper())
`;

describe.skipIf(!tracerAvailable)("roar run", () => {
  test.skipIf(!existsSync("/dev/shm"))("a project on tmpfs (/dev/shm) records its files like any other", async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = "/dev/shm";
    let repo: string;
    try {
      repo = await initRepo({ "copy.py": COPY_PY, "in.txt": "hello shm\n" });
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(repo.startsWith("/dev/shm/")).toBe(true);
    const { code, job } = await runJson(repo, ["python3", "copy.py", "in.txt", "out.txt"]);
    expect(code).toBe(0);
    expect(job.inputs.map((i) => i.path)).toEqual(["in.txt"]);
    expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
    expect(job.outputs[0]?.blake3).toBe(b3sum(join(repo, "out.txt")));
  });

  test("records inputs and outputs with their BLAKE3 digests, sizes, argv, cwd and git state", async () => {
    const repo = await initRepo({ "copy.py": COPY_PY, "in.txt": "hello roar\n" });
    const { code, job } = await runJson(repo, ["python3", "copy.py", "in.txt", "out.txt"]);
    expect(code).toBe(0);
    expect(job.schemaVersion).toBe(1);
    expect(job.command).toEqual(["python3", "copy.py", "in.txt", "out.txt"]);
    expect(job.cwd).toBe("");
    expect(job.status).toBe("ok");
    expect(job.step).toBe(1);
    expect(job.inputs.map((i) => i.path)).toEqual(["in.txt"]);
    expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
    expect(job.inputs[0]?.blake3).toBe(b3sum(join(repo, "in.txt")));
    expect(job.outputs[0]?.blake3).toBe(b3sum(join(repo, "out.txt")));
    expect(job.outputs[0]?.size).toBe(11);
    expect(readFileSync(join(repo, "out.txt"), "utf8")).toBe("HELLO ROAR\n");
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: repo }).stdout.toString().trim();
    expect(job.git).toMatchObject({ commit: head, branch: "main", clean: true });
    expect(job.trace.complete).toBe(true);
    // The same record through `roar show`, by uid and by step.
    const shown = await roarJson<JobJson>(["show", job.uid, "--json"], { cwd: repo });
    expect(shown.inputs).toEqual(job.inputs);
    expect(shown.outputs).toEqual(job.outputs);
    expect((await roarJson<JobJson>(["show", "@1", "--json"], { cwd: repo })).uid).toBe(job.uid);
    expect(job.python?.version).toMatch(/^3\.\d+\.\d+/);
  });

  test("the command's stdout passes through untouched; roar's report goes to stderr", async () => {
    const repo = await initRepo({ "p.py": "print('only this')\n" });
    const r = await roar(["run", "python3", "p.py"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("only this\n");
    expect(r.stderr).toContain("@1");
    const quiet = await roar(["run", "-q", "python3", "p.py"], { cwd: repo });
    expect(quiet.stderr).toBe("");
  });

  test("exit codes and signals pass through docker-run style", async () => {
    const repo = await initRepo({});
    expect((await roar(["run", "python3", "-c", "import sys; sys.exit(3)"], { cwd: repo })).code).toBe(3);
    expect((await roar(["run", "sh", "-c", "kill -TERM $$"], { cwd: repo })).code).toBe(143);
    const missing = await roar(["run", "no-such-program-xyz", "arg"], { cwd: repo });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("command not found: no-such-program-xyz");
    writeFileSync(join(repo, "notexec.sh"), "echo hi\n");
    commitAll(repo);
    const notExec = await roar(["run", "./notexec.sh"], { cwd: repo });
    expect(notExec.code).toBe(126);
    // A failed job is still recorded, as failed.
    const failed = await runJson(repo, ["python3", "-c", "import sys; sys.exit(5)"]);
    expect(failed.code).toBe(5);
    expect(failed.job.status).toBe("failed");
    expect(failed.job.exitCode).toBe(5);
  });

  test("a dirty tree is refused with the files and the fix; --allow-dirty stores the diff", async () => {
    const repo = await initRepo({ "copy.py": COPY_PY, "in.txt": "x\n" });
    writeFileSync(join(repo, "copy.py"), `${COPY_PY}# local edit\n`);
    const r = await roar(["run", "python3", "copy.py", "in.txt", "out.txt"], { cwd: repo });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("copy.py");
    expect(r.stderr).toContain("--allow-dirty");
    expect(existsSync(join(repo, "out.txt"))).toBe(false);
    const { code, job } = await runJson(repo, ["--allow-dirty", "python3", "copy.py", "in.txt", "out.txt"]);
    expect(code).toBe(0);
    expect(job.git.clean).toBe(false);
    expect(job.git.patch).toMatch(/^[0-9a-f]{64}$/);
    // Outputs of earlier roar jobs do not make the tree dirty.
    writeFileSync(join(repo, "copy.py"), COPY_PY);
    const next = await roar(["run", "python3", "copy.py", "out.txt", "out2.txt"], { cwd: repo });
    expect(next.code).toBe(0);
  });

  test("extra digests with --hash and hash.run", async () => {
    const repo = await initRepo({ "copy.py": COPY_PY, "in.txt": "abc\n" });
    const { job } = await runJson(repo, ["--hash", "sha256", "python3", "copy.py", "in.txt", "out.txt"]);
    expect(job.outputs[0]?.digests?.sha256).toBe(sha256sum(join(repo, "out.txt")));
  });

  test("secret-looking [env] variables reach the command but are stored redacted", async () => {
    const repo = await initRepo({
      "env.py": "import os\nopen('seen.txt','w').write(os.environ['API_TOKEN'] + os.environ['SEED'])\n",
    });
    await roar(["env", "set", "API_TOKEN", "s3cr3t-value"], { cwd: repo });
    await roar(["env", "set", "SEED", "42"], { cwd: repo });
    const { job } = await runJson(repo, ["python3", "env.py"]);
    expect(readFileSync(join(repo, "seen.txt"), "utf8")).toBe("s3cr3t-value42");
    expect(job.env).toEqual({ API_TOKEN: "<redacted>", SEED: "42" });
    const db = readFileSync(join(repo, ".roar/roar.db"));
    expect(db.includes("s3cr3t-value")).toBe(false);
  });

  test("files deleted during the run are recorded as deleted; temp files leave no trace", async () => {
    const script = `import os
os.remove("old.txt")
open("tmp.part", "w").write("partial")
os.remove("tmp.part")
open("final.txt.tmp", "w").write("final")
os.rename("final.txt.tmp", "final.txt")
`;
    const repo = await initRepo({ "del.py": script, "old.txt": "bye\n" });
    const { job } = await runJson(repo, ["python3", "del.py"]);
    const outputs = Object.fromEntries(job.outputs.map((o) => [o.path, o]));
    expect(Object.keys(outputs).sort()).toEqual(["final.txt", "old.txt"]);
    expect(outputs["old.txt"]?.blake3).toBeNull();
    expect(outputs["final.txt"]?.blake3).toBe(b3sum(join(repo, "final.txt")));
  });

  test("an input edited in place or deleted by the job is identified by the content it read", async () => {
    const repo = await initRepo({
      "copy.py": COPY_PY,
      "in.txt": "hello\n",
      "consume.py": "import os\nopen('b.txt','w').write(open('a.txt').read())\nos.remove('a.txt')\n",
    });
    const first = await runJson(repo, ["python3", "copy.py", "in.txt", "a.txt"]);
    const produced = first.job.outputs[0]?.blake3;
    // sed -i reads a.txt, writes a temp file and renames it over a.txt.
    const edit = await runJson(repo, ["sed", "-i", "s/H/J/", "a.txt"]);
    expect(edit.job.inputs).toEqual([expect.objectContaining({ path: "a.txt", blake3: produced })]);
    expect(edit.job.outputs).toEqual([expect.objectContaining({ path: "a.txt", blake3: b3sum(join(repo, "a.txt")) })]);
    const edited = edit.job.outputs[0]?.blake3;
    const consume = await runJson(repo, ["python3", "consume.py"]);
    expect(consume.job.inputs).toEqual([expect.objectContaining({ path: "a.txt", blake3: edited })]);
    expect(consume.job.outputs.map((o) => [o.path, o.blake3 === null]).sort()).toEqual([
      ["a.txt", true],
      ["b.txt", false],
    ]);
  });

  test("files written into a directory that is then renamed into place are outputs under its final name", async () => {
    const script = [
      "import os",
      "os.makedirs('model.tmp')",
      "fd = os.open('model.tmp', os.O_RDONLY | os.O_DIRECTORY)",
      "for name in ['a.bin', 'b.json']:",
      "    w = os.open(name, os.O_WRONLY | os.O_CREAT, dir_fd=fd)",
      "    os.write(w, name.encode())",
      "    os.close(w)",
      "os.rename('model.tmp', 'model')",
      "w = os.open('c.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd)",
      "os.write(w, b'after')",
      "os.close(w)",
    ].join("\n");
    const repo = await initRepo({ "save.py": `${script}\n` });
    const { code, job } = await runJson(repo, ["python3", "save.py"]);
    expect(code).toBe(0);
    expect(job.outputs.map((o) => o.path).sort()).toEqual(["model/a.bin", "model/b.json", "model/c.txt"]);
    expect(job.outputs.find((o) => o.path === "model/c.txt")?.blake3).toBe(b3sum(join(repo, "model/c.txt")));
  });

  test("files the job creates (sqlite, append, mkstemp + rename) are outputs, never inputs", async () => {
    const script = `import sqlite3, tempfile, os
c = sqlite3.connect("db.sqlite"); c.execute("create table t(x)"); c.commit(); c.close()
open("log.txt", "a+").write("x")
fd, tmp = tempfile.mkstemp(dir=".")
os.write(fd, b"data"); os.close(fd); os.replace(tmp, "final.txt")
`;
    const repo = await initRepo({ "make.py": script });
    const { job } = await runJson(repo, ["python3", "make.py"]);
    expect(job.inputs).toEqual([]);
    expect(job.outputs.map((o) => o.path).sort()).toEqual(["db.sqlite", "final.txt", "log.txt"]);
  });

  test("a 1 GiB output is hashed correctly (in the hash pool), and an unchanged file is not re-hashed", async () => {
    const script = `import sys
chunk = bytes(range(256)) * 4096
with open("big.bin", "wb") as f:
    for _ in range(1024):
        f.write(chunk)
`;
    const repo = await initRepo({ "big.py": script, "readbig.py": "open('big.bin','rb').read(10)\n" });
    const first = await runJson(repo, ["python3", "big.py"]);
    expect(first.job.outputs[0]?.size).toBe(1024 ** 3);
    expect(first.job.outputs[0]?.blake3).toBe(b3sum(join(repo, "big.bin")));
    // A big file goes to the hash pool: its worker started (bundled beside the launcher's bundle, or embedded).
    expect(first.stderr).not.toContain("hashing in the main thread");
    await Bun.sleep(1100); // past the racy-timestamp window
    const second = await runJson(repo, ["python3", "readbig.py"]);
    expect(second.job.inputs[0]?.blake3).toBe(first.job.outputs[0]?.blake3 ?? "");
    const third = await runJson(repo, ["python3", "readbig.py"]);
    expect(third.job.hashing.files).toBe(1);
    expect(third.job.hashing.cacheHits).toBe(1);
  }, 180_000);

  test("Python packages actually used are captured from a venv with a locally built wheel", async () => {
    const work = tempDir();
    const pkg = join(work, "wheelhouse");
    mkdirSync(pkg);
    // A wheel is a zip with METADATA, WHEEL and RECORD: build one by hand, no network or build backend needed.
    const make = `import zipfile, sys
w = zipfile.ZipFile(sys.argv[1] + "/roartoy-1.2.3-py3-none-any.whl", "w")
w.writestr("roartoy/__init__.py", "def double(x):\\n    return 2 * x\\n")
w.writestr("roartoy-1.2.3.dist-info/METADATA", "Metadata-Version: 2.1\\nName: roartoy\\nVersion: 1.2.3\\n")
w.writestr("roartoy-1.2.3.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
w.writestr("roartoy-1.2.3.dist-info/RECORD", "roartoy/__init__.py,,\\nroartoy-1.2.3.dist-info/METADATA,,\\nroartoy-1.2.3.dist-info/WHEEL,,\\nroartoy-1.2.3.dist-info/RECORD,,\\n")
w.close()
`;
    writeFileSync(join(work, "make.py"), make);
    expect(Bun.spawnSync(["python3", join(work, "make.py"), pkg]).exitCode).toBe(0);
    const venv = join(work, "venv");
    expect(Bun.spawnSync(["python3", "-m", "venv", venv]).exitCode).toBe(0);
    const pip = Bun.spawnSync([join(venv, "bin/pip"), "install", "--no-index", "--find-links", pkg, "roartoy"], {
      env: { ...hermeticEnv(work), PIP_CONFIG_FILE: "/dev/null" },
    });
    expect(pip.exitCode).toBe(0);
    const repo = await initRepo({
      "use.py": "import roartoy, json\nopen('out.json','w').write(json.dumps(roartoy.double(21)))\n",
    });
    const { job } = await runJson(repo, [join(venv, "bin/python"), "use.py"]);
    expect(job.packages.pip).toEqual({ roartoy: "1.2.3" });
    expect(job.outputs.map((o) => o.path)).toEqual(["out.json"]);
    expect(job.inputs).toEqual([]);
  }, 120_000);

  test("Ctrl-C reaches the command; the job is recorded as interrupted", async () => {
    const script = `import signal, sys, time
def stop(*_):
    open("stopped.txt", "w").write("yes")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
open("ready.txt", "w").write("ready")
time.sleep(30)
`;
    const repo = await initRepo({ "wait.py": script });
    const proc = Bun.spawn([ROAR_BIN, "run", "--json", "python3", "wait.py"], {
      cwd: repo,
      env: hermeticEnv(join(repo, ".test-home")),
      stdout: "pipe",
      stderr: "pipe",
    });
    for (let i = 0; i < 200 && !existsSync(join(repo, "ready.txt")); i++) await Bun.sleep(50);
    proc.kill("SIGINT");
    const code = await proc.exited;
    const out = await new Response(proc.stdout).text();
    expect(code).toBe(130);
    expect(readFileSync(join(repo, "stopped.txt"), "utf8")).toBe("yes");
    const job = JSON.parse(out) as JobJson;
    expect(job.status).toBe("interrupted");
    expect(job.outputs.map((o) => o.path).sort()).toEqual(["ready.txt", "stopped.txt"]);
  });

  test("build jobs keep their inputs and outputs and share the step sequence", async () => {
    const repo = await initRepo({ "copy.py": COPY_PY, "in.txt": "b\n" });
    const r = await roar(["build", "--json", "python3", "copy.py", "in.txt", "built.txt"], { cwd: repo });
    expect(r.code).toBe(0);
    const build = JSON.parse(r.stdout) as JobJson;
    expect(build.kind).toBe("build");
    expect(build.step).toBe(1);
    expect(build.outputs.map((o) => o.path)).toEqual(["built.txt"]);
    const { job } = await runJson(repo, ["python3", "copy.py", "built.txt", "out.txt"]);
    expect(job.step).toBe(2);
  });
});

describe.skipIf(!tracerAvailable)("roar run output channels", () => {
  test("--json-file writes the job document apart from the command's stdout; quiet is one setting", async () => {
    const repo = await initRepo({ "hello.py": "print('the command speaks')\nopen('out.txt','w').write('x')\n" });
    const r = await roar(["run", "--json-file", "job.json", "python3", "hello.py"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("the command speaks\n");
    const job = JSON.parse(readFileSync(join(repo, "job.json"), "utf8")) as JobJson;
    expect(job.command).toEqual(["python3", "hello.py"]);
    expect(job.outputs.map((o) => o.path)).toContain("out.txt");
    expect(r.stderr).toContain("roar: @1"); // the report still goes to stderr
    // output.quiet (here from the environment) silences the report like -q does
    commitAll(repo, "step");
    const quiet = await roar(["run", "python3", "hello.py"], { cwd: repo, env: { ROAR_OUTPUT__QUIET: "true" } });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
  }, 60_000);
});
