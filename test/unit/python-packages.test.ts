import { expect, test } from "bun:test";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageReadPaths, usedPythonPackages } from "../../src/capture/python.ts";
import type { TraceEvent } from "../../src/schema/events.ts";
import { tempDir } from "../helpers/cli.ts";

function dist(site: string, name: string, version: string, files: string[]): void {
  const info = join(site, `${name}-${version}.dist-info`);
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, "METADATA"), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
  writeFileSync(join(info, "RECORD"), files.map((f) => `${f},,`).join("\n"));
  for (const f of files) {
    mkdirSync(join(site, f, ".."), { recursive: true });
    writeFileSync(join(site, f), "");
  }
}

test("namespace packages map each file read to its own distribution", () => {
  const site = join(tempDir(), "lib/python3.11/site-packages");
  dist(site, "nsp-a", "1.0", ["nsp/a/__init__.py"]);
  dist(site, "nsp-b", "2.0", ["nsp/b/__init__.py"]);
  const used = usedPythonPackages([join(site, "nsp/a/__init__.py"), join(site, "nsp/b/__init__.py")]);
  expect(used.pip).toEqual({ "nsp-a": "1.0", "nsp-b": "2.0" });
});

test("start-up reads are skipped until the script opens, however its path is spelt", () => {
  let seq = 0;
  const ev = (e: Record<string, unknown>) => ({ pid: 7, seq: ++seq, ts: seq, ...e }) as TraceEvent;
  const open = (path: string) => ev({ kind: "open", path, flags: 0, fd: 3, stat: null });
  const events: TraceEvent[] = [
    ev({ kind: "proc_start", ppid: 1, exe: "/v/bin/python3", argv: ["python3", "../use.py"], cwd: "/repo/sub" }),
    open("/v/site-packages/_distutils_hack/__init__.py"),
    open("/repo/use.py"),
    open("/v/site-packages/numpy/__init__.py"),
  ];
  expect(packageReadPaths(events)).toEqual(["/v/site-packages/numpy/__init__.py"]);
  // A script never seen opened: everything the process read counts.
  const unmatched = events.filter((e) => !(e.kind === "open" && e.path === "/repo/use.py"));
  expect(packageReadPaths(unmatched).sort()).toEqual([
    "/v/site-packages/_distutils_hack/__init__.py",
    "/v/site-packages/numpy/__init__.py",
  ]);
});

test("start-up reads are told apart per process when processes' reads interleave", () => {
  let seq = 0;
  const ev = (pid: number, e: Record<string, unknown>) => ({ pid, seq: ++seq, ts: seq, ...e }) as TraceEvent;
  const open = (pid: number, path: string) => ev(pid, { kind: "open", path, flags: 0, fd: 3, stat: null });
  const python = (pid: number, script: string) =>
    ev(pid, { kind: "proc_start", ppid: 1, exe: "/v/bin/python3", argv: ["python3", script], cwd: "/repo" });
  const events: TraceEvent[] = [
    python(7, "a.py"),
    python(8, "b.py"),
    open(7, "/v/site-packages/x/__init__.py"),
    open(8, "/v/site-packages/y/__init__.py"),
    open(9, "/v/site-packages/q/__init__.py"), // not a Python started here: counted
    open(7, "/repo/a.py"),
    open(7, "/v/site-packages/z/__init__.py"),
    open(8, "/v/site-packages/w/__init__.py"),
    open(8, "/repo/b.py"),
    open(8, "/v/site-packages/v/__init__.py"),
    open(7, "/v/site-packages/u/__init__.py"),
  ];
  expect(packageReadPaths(events).sort()).toEqual(
    ["q", "u", "v", "z"].map((name) => `/v/site-packages/${name}/__init__.py`),
  );
});

test("single-module distributions: read as bytecode under __pycache__, from a RECORD or a Debian .egg-info", () => {
  const site = join(tempDir(), "lib/python3.11/site-packages");
  dist(site, "solo", "0.3.1", ["solo.py", "__pycache__/solo.cpython-311.pyc"]);
  const debian = join(tempDir(), "usr/lib/python3/dist-packages");
  const egg = join(debian, "six-1.16.0.egg-info");
  mkdirSync(egg, { recursive: true });
  writeFileSync(join(egg, "PKG-INFO"), "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n");
  writeFileSync(join(egg, "top_level.txt"), "six\n");
  writeFileSync(join(debian, "six.py"), "");
  const used = usedPythonPackages([
    join(site, "__pycache__/solo.cpython-311.pyc"),
    join(debian, "__pycache__/six.cpython-311.opt-1.pyc"),
    join(debian, "six-1.16.0.egg-info/PKG-INFO"), // start-up metadata reads are not use
  ]);
  expect(used.pip).toEqual({ solo: "0.3.1", six: "1.16.0" });
  expect(used.sitePackages).toEqual([site, debian].sort());
});

test("what a site-packages holds is remembered across runs until a distribution is installed or removed", () => {
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = tempDir();
  try {
    const site = join(tempDir(), "lib/python3.11/site-packages");
    dist(site, "alpha", "1.0", ["alpha/__init__.py", "alpha/core.py"]);
    const read = [join(site, "alpha/__init__.py"), join(site, "alpha/core.py")];
    expect(usedPythonPackages(read).pip).toEqual({ alpha: "1.0" });
    // Upgraded in place (pip removes the old .dist-info and writes the new one): the answer follows.
    renameSync(join(site, "alpha-1.0.dist-info"), join(tempDir(), "gone"));
    dist(site, "alpha", "2.0", ["alpha/__init__.py", "alpha/core.py"]);
    expect(usedPythonPackages(read).pip).toEqual({ alpha: "2.0" });
    expect(usedPythonPackages(read).pip).toEqual({ alpha: "2.0" });
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});
