/** Python fixtures built offline: a wheel is a zip with METADATA, WHEEL and RECORD, no build backend needed. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hermeticEnv, tempDir } from "./cli.ts";

/**
 * Writes `<name>-<version>-py3-none-any.whl` into `dir`: a package `<name>/__init__.py`, or with `layout: "module"`
 * a single top-level module `<name>.py` (like six).
 */
export function buildToyWheel(
  dir: string,
  name: string,
  version: string,
  source: string,
  layout: "package" | "module" = "package",
): void {
  mkdirSync(dir, { recursive: true });
  const info = `${name}-${version}.dist-info`;
  const file = layout === "module" ? `${name}.py` : `${name}/__init__.py`;
  const script = `import zipfile, sys
w = zipfile.ZipFile(sys.argv[1], "w")
w.writestr("${file}", sys.argv[2])
w.writestr("${info}/METADATA", "Metadata-Version: 2.1\\nName: ${name}\\nVersion: ${version}\\n")
w.writestr("${info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
w.writestr("${info}/RECORD", "${file},,\\n${info}/METADATA,,\\n${info}/WHEEL,,\\n${info}/RECORD,,\\n")
w.close()
`;
  const maker = join(tempDir(), "make_wheel.py");
  writeFileSync(maker, script);
  const r = Bun.spawnSync(["python3", maker, join(dir, `${name}-${version}-py3-none-any.whl`), source]);
  if (r.exitCode !== 0) throw new Error(`building the ${name} wheel failed: ${r.stderr.toString()}`);
}

/** Pip settings that never reach a package index or the machine's pip config: only `findLinks`. */
export function offlinePipEnv(findLinks: string): Record<string, string> {
  return {
    PIP_CONFIG_FILE: "/dev/null",
    PIP_NO_INDEX: "1",
    PIP_FIND_LINKS: findLinks,
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
  };
}

/** A fresh venv with `packages` installed from the wheels in `findLinks`; returns the venv directory. */
export function venvWith(findLinks: string, packages: string[]): string {
  const venv = join(tempDir("roar-venv-"), "venv");
  if (Bun.spawnSync(["python3", "-m", "venv", venv]).exitCode !== 0) throw new Error("python3 -m venv failed");
  const pip = Bun.spawnSync([join(venv, "bin/pip"), "install", ...packages], {
    env: { ...hermeticEnv(venv), ...offlinePipEnv(findLinks) },
  });
  if (pip.exitCode !== 0) throw new Error(`pip install ${packages.join(" ")} failed: ${pip.stderr.toString()}`);
  return venv;
}

/** Writes `<name>-<version>-py3-none-any.whl` holding a single top-level module `<name>.py` (like six). */
export function buildSingleModuleWheel(dir: string, name: string, version: string, source: string): void {
  buildToyWheel(dir, name, version, source, "module");
}
