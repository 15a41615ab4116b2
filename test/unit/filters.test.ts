import { expect, test } from "bun:test";
import { type FilterSettings, ignoreReason } from "../../src/core/filters.ts";

const settings: FilterSettings = {
  ignoreSystemReads: true,
  ignorePackageReads: true,
  ignoreTorchCache: true,
  ignoreTmpFiles: true,
  trackRepoFiles: false,
  ignorePaths: [],
};
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
  expect(ignoreReason("/tmp/proj/train.py", "read", settings, ctx)).toBe("code");
  expect(ignoreReason("/tmp/proj/train.py", "read", { ...settings, trackRepoFiles: true }, ctx)).toBeNull();
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
  expect(ignoreReason("/tmp/proj/run.sh", "read", settings, withExec)).toBe("executable");
  expect(ignoreReason("/home/u/.pyenv/libexec/pyenv", "read", settings, withExec)).toBe("tool");
  expect(ignoreReason("/home/u/bin/tool", "read", settings, withExec)).toBe("executable");
  expect(ignoreReason("/home/u/data/raw.csv", "read", settings, withExec)).toBeNull();
});
