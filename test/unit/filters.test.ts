import { expect, test } from "bun:test";
import { extname } from "node:path";
import {
  codeCandidate,
  extensionOf,
  type FilterSettings,
  ignoreReason,
  readReasonInContext,
} from "../../src/core/filters.ts";
import { DEFAULT_FILTERS } from "../helpers/filters.ts";

const settings: FilterSettings = DEFAULT_FILTERS;
const ctx = {
  projectRoot: "/tmp/proj",
  roarDir: "/tmp/proj/.roar",
  tmpDirs: ["/tmp"],
  privatePaths: new Set(["/tmp/roar-trace-x/events.bin"]),
};

test("filters follow the config and never drop data inside the project", () => {
  expect(ignoreReason("/tmp/proj/data.csv", "read", settings, ctx)).toBeNull();
  expect(ignoreReason("/tmp/proj/out/model.pt", "write", settings, ctx)).toBeNull();
  expect(ignoreReason("/tmp/other/x", "read", settings, ctx)).toBe("tmp");
  expect(ignoreReason("/tmp/other/x", "read", { ...settings, ignoreTmpFiles: false }, ctx)).toBeNull();
  expect(ignoreReason("/usr/lib/python3.11/os.py", "read", settings, ctx)).toBe("package");
  expect(ignoreReason("/etc/hosts", "read", settings, ctx)).toBe("system");
  expect(ignoreReason("/etc/hosts", "read", { ...settings, ignoreSystemReads: false }, ctx)).toBeNull();
  expect(ignoreReason("/tmp/proj/.venv/lib/python3.11/site-packages/numpy/x.py", "read", settings, ctx)).toBe(
    "package",
  );
  expect(ignoreReason("/tmp/proj/.roar/roar.db", "write", settings, ctx)).toBe("roar");
  expect(ignoreReason("/tmp/proj/.git/index", "read", settings, ctx)).toBe("git");
  expect(ignoreReason("/tmp/roar-trace-x/events.bin", "write", settings, ctx)).toBe("roar");
  const committed = { ...ctx, committed: new Set(["/tmp/proj/train.py", "/tmp/proj/notes.txt"]) };
  expect(ignoreReason("/tmp/proj/train.py", "read", settings, committed)).toBe("code");
  expect(ignoreReason("/tmp/proj/train.py", "read", { ...settings, trackRepoFiles: true }, committed)).toBeNull();
  expect(ignoreReason("/tmp/proj/gen.py", "write", settings, ctx)).toBeNull();
  expect(ignoreReason("/tmp/torchinductor_root/k.py", "write", { ...settings, ignoreTmpFiles: false }, ctx)).toBe(
    "torch cache",
  );
  expect(ignoreReason("/tmp/proj/logs/a.txt", "write", { ...settings, ignorePaths: ["logs/"] }, ctx)).toBe(
    "filters.ignore_paths",
  );
});

test("executed programs and tool scripts are code, not data", () => {
  const withExec = {
    ...ctx,
    executables: new Set(["/tmp/proj/run.sh"]),
    isExecutableFile: (p: string) => p === "/home/u/bin/tool",
  };
  expect(
    ignoreReason("/tmp/proj/run.sh", "read", settings, { ...withExec, committed: new Set(["/tmp/proj/run.sh"]) }),
  ).toBe("code");
  expect(ignoreReason("/home/u/.pyenv/libexec/pyenv", "read", settings, withExec)).toBe("tool");
  expect(ignoreReason("/home/u/bin/tool", "read", settings, withExec)).toBe("executable");
  expect(ignoreReason("/home/u/data/raw.csv", "read", settings, withExec)).toBeNull();
});

test("code is what the commit represents: a generated or untracked code file is data", () => {
  const committed = new Set(["/tmp/proj/use.c", "/tmp/proj/gen"]);
  const c = { ...ctx, committed, executables: new Set(["/tmp/proj/gen", "/tmp/proj/build.sh"]) };
  // tracked and unmodified: represented by the commit
  expect(ignoreReason("/tmp/proj/use.c", "read", settings, c)).toBe("code");
  expect(ignoreReason("/tmp/proj/gen", "read", settings, c)).toBe("code"); // executed, no code extension
  // generated (not committed): inputs like any data, whatever the extension
  expect(ignoreReason("/tmp/proj/gen.h", "read", settings, c)).toBeNull();
  expect(ignoreReason("/tmp/proj/build/libz.so", "read", settings, c)).toBeNull();
  expect(ignoreReason("/tmp/proj/build.sh", "read", settings, c)).toBeNull();
  // a committed file without a code extension that was not executed is data
  expect(
    ignoreReason("/tmp/proj/notes.txt", "read", settings, { ...c, committed: new Set(["/tmp/proj/notes.txt"]) }),
  ).toBeNull();
  expect(codeCandidate("/tmp/proj/gen.h", c)).toBe(true);
  expect(codeCandidate("/tmp/proj/data.csv", c)).toBe(false);
  expect(codeCandidate("/usr/include/stdio.h", c)).toBe(false);
  // Every code extension is one (they are ruled in and out by their last character first), and only those.
  for (const ext of [".py", ".pyx", ".pxd", ".so", ".c", ".cc", ".cpp", ".h", ".hpp", ".rs", ".go", ".sh", ".ipynb"])
    expect(codeCandidate(`/tmp/proj/src/x${ext}`, c)).toBe(true);
  for (const name of ["x.txt", "x.pyc", "x.PY", "x.o", "x.s", "x.ipynbx", "x.py.bak", "py"])
    expect(codeCandidate(`/tmp/proj/src/${name}`, c)).toBe(false);
});

test("a project on tmpfs under /dev/shm keeps its files; /dev, /proc and /sys outside it stay ignored", () => {
  const shm = { ...ctx, projectRoot: "/dev/shm/proj", roarDir: "/dev/shm/proj/.roar" };
  expect(ignoreReason("/dev/shm/proj/in/a.txt", "read", settings, shm)).toBeNull();
  expect(ignoreReason("/dev/shm/proj/out/b.txt", "write", settings, shm)).toBeNull();
  expect(ignoreReason("/dev/shm/other/c.txt", "read", settings, shm)).toBe("system");
  expect(ignoreReason("/dev/null", "write", settings, shm)).toBe("system");
  expect(ignoreReason("/proc/self/status", "read", settings, shm)).toBe("system");
});

test("package, torch-cache and user patterns: each form matches where it should, and nowhere else", () => {
  const inProject = (rel: string) => `/tmp/proj/${rel}`;
  const read = (path: string, s: Partial<FilterSettings> = {}) =>
    ignoreReason(path, "read", { ...settings, ...s }, ctx);
  for (const rel of [
    "env/lib/python3.12/site-packages/a.py",
    "env/lib/python3/dist-packages/a.py",
    "env/lib/python3.12/json/__init__.py",
    "env/lib/python3/os.py",
    "src/__pycache__/m.cpython-312.pyc",
    "m.pyc",
    "env/pyvenv.cfg",
  ])
    expect([rel, read(inProject(rel))]).toEqual([rel, "package"]);
  for (const rel of [
    "site-packages.txt",
    "lib/python/os.py",
    "lib/pythonx/os.py",
    "m.pyc.bak",
    "pyvenv.cfg.txt",
    "my-pyvenv.cfg",
    "__pycache__",
  ])
    expect([rel, read(inProject(rel))]).toEqual([rel, null]);
  const noTmp = { ignoreTmpFiles: false };
  for (const path of [
    "/tmp/torchinductor_u/k.py",
    "/tmp/torch_x/k",
    "/tmp/triton/c",
    "/tmp/tritonx",
    "/home/u/.triton/c",
  ])
    expect([path, read(path, noTmp)]).toEqual([path, "torch cache"]);
  for (const path of ["/tmp/torch/k", "/tmp/x/triton/c", "/home/u/.tritonx/c"])
    expect([path, read(path, { ...noTmp, ignoreSystemReads: false })]).toEqual([path, null]);
  expect(read("/tmp/triton/c", { ...noTmp, ignoreTorchCache: false })).toBeNull();
  const patterns = { ignorePaths: ["/data/raw", "cache/", "scratch"] };
  expect(read("/data/raw/x.bin", patterns)).toBe("filters.ignore_paths");
  expect(read(inProject("cache/x"), patterns)).toBe("filters.ignore_paths");
  expect(read(inProject("a/cache/x"), patterns)).toBe("filters.ignore_paths");
  expect(read(inProject("a/mycache/x"), patterns)).toBeNull();
  expect(read(inProject("my-scratch-file"), patterns)).toBe("filters.ignore_paths");
  expect(read(inProject("data/raw/x"), patterns)).toBeNull();
});

test("extensionOf agrees with path.extname on every path of up to 7 characters of 'a', '.' and '/'", () => {
  let checked = 0;
  const all = (prefix: string, left: number): void => {
    if (prefix) {
      expect([prefix, extensionOf(prefix)]).toEqual([prefix, extname(prefix)]);
      checked++;
    }
    if (left > 0) for (const c of "a./") all(prefix + c, left - 1);
  };
  all("", 7);
  expect(checked).toBe(3279);
});

test("readReasonInContext is ignoreReason for every read the path rules alone keep", () => {
  const paths = [
    "/tmp/proj/data.csv",
    "/tmp/proj/train.py",
    "/tmp/proj/gen",
    "/tmp/proj/lib/native.so",
    "/tmp/proj/notes.txt",
    "/tmp/proj/.roar/roar.db",
    "/tmp/proj/.git/HEAD",
    "/tmp/proj/.venv/lib/python3.11/site-packages/x.py",
    "/tmp/proj/skip/me.csv",
    "/tmp/other/x",
    "/home/u/data/big.bin",
    "/home/u/bin/tool",
    "/home/u/.pyenv/shims/python",
    "/home/u/.cache/pip/x",
    "/usr/bin/python3",
    "/etc/hosts",
    "/opt/tool/run",
    "/tmp/torchinductor_u/k.py",
    "/tmp/roar-trace-x/events.bin",
    "/dev/null",
  ];
  const executables = new Set(["/tmp/proj/gen", "/home/u/bin/tool", "/usr/bin/python3", "/tmp/other/x"]);
  const full = {
    ...ctx,
    executables,
    isExecutableFile: (path: string) => path.endsWith("/run") || path.startsWith("/home/u/bin/"),
    committed: new Set(["/tmp/proj/train.py", "/tmp/proj/gen", "/tmp/proj/lib/native.so", "/tmp/proj/notes.txt"]),
  };
  const variants: FilterSettings[] = [
    settings,
    { ...settings, trackRepoFiles: true },
    { ...settings, ignoreTmpFiles: false, ignoreSystemReads: false, ignorePackageReads: false },
    { ...settings, ignorePaths: ["skip/"] },
  ];
  const contextReasons = new Set<string | null>();
  let compared = 0;
  for (const s of variants)
    for (const path of paths) {
      if (ignoreReason(path, "read", s, ctx) !== null) continue; // dropped by the path rules: not asked
      const reason = readReasonInContext(path, s, full);
      expect(reason).toBe(ignoreReason(path, "read", s, full));
      contextReasons.add(reason);
      compared++;
    }
  // The comparison covers kept paths and both reasons only the context gives.
  expect(compared).toBeGreaterThan(20);
  expect(contextReasons).toEqual(new Set([null, "code", "executable"]));
});
