/**
 * The rebuild's environment: a venv with the recorded Python version and pinned pip packages, Debian packages
 * on request (never through sudo behind the user's back), and warnings where this machine differs.
 */
import { existsSync } from "node:fs";
import { arch, platform } from "node:os";
import { join } from "node:path";
import type { Requirements } from "../../core/reproduce.ts";
import type { JobWithIo } from "../../core/types.ts";
import { RoarError } from "../../shared/errors.ts";

export interface EnvironmentOptions {
  /** Runs a command that must succeed (throws a RoarError naming `what` otherwise). */
  sh: (argv: string[], cwd: string, what: string, env?: Record<string, string>) => void;
  note: (message: string) => void;
  /** --pip-any-version: when pinned versions fail, install any version. */
  pipAnyVersion: boolean;
}

/** The interpreter closest to the recorded version, and whether it is exactly that version. */
export function findPython(version: string | null): { exe: string; exact: boolean } {
  if (!version) return { exe: "python3", exact: false };
  const [major, minor] = version.split(".");
  for (const candidate of [`python${major}.${minor}`, `python${major}`, "python3"]) {
    const r = Bun.spawnSync([candidate, "-c", "import platform; print(platform.python_version())"], {
      stdout: "pipe",
      stderr: "ignore",
    });
    if (r.exitCode !== 0) continue;
    const found = r.stdout.toString().trim();
    if (found === version) return { exe: candidate, exact: true };
    if (found.startsWith(`${major}.${minor}.`)) return { exe: candidate, exact: false };
  }
  return { exe: "python3", exact: false };
}

/** Creates `venv` with the recorded Python and installs the pinned pip packages into it. */
export function createVenv(
  venv: string,
  cwd: string,
  req: Requirements,
  env: Record<string, string>,
  o: EnvironmentOptions,
): void {
  const { exe, exact } = findPython(req.python);
  if (req.python && !exact) {
    o.note(
      `warning: Python ${req.python} was recorded but is not available here; using ${exe} instead — results may differ`,
    );
  }
  o.sh([exe, "-m", "venv", venv], cwd, "python -m venv", env);
  const pins = Object.entries(req.pip).map(([n, v]) => `${n}==${v}`);
  if (pins.length === 0) return;
  o.note(`roar: installing ${pins.length} pip package(s) into ${venv}`);
  const pip = [join(venv, "bin/python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"];
  const r = Bun.spawnSync([...pip, ...pins], { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode === 0) return;
  if (!o.pipAnyVersion) {
    throw new RoarError(
      `pip could not install the pinned packages: ${r.stderr.toString().trim().split("\n").slice(-1)[0] ?? ""}`,
      1,
      "Re-run with --pip-any-version to accept other versions.",
    );
  }
  o.note("warning: pinned versions failed; installing any available versions (--pip-any-version)");
  o.sh([...pip, ...Object.keys(req.pip)], cwd, "pip install (any version)", env);
}

/** apt-get install of the recorded Debian packages, as root and after confirmation (`confirmed`). */
export async function syncDebianPackages(
  dpkg: Record<string, string>,
  confirmed: (question: string) => Promise<boolean>,
  note: (message: string) => void,
): Promise<void> {
  const pins = Object.entries(dpkg).map(([n, v]) => `${n}=${v}`);
  if (pins.length === 0) return;
  if (process.getuid?.() !== 0) {
    note(`roar: --package-sync needs root; run yourself: sudo apt-get install -y ${pins.join(" ")}`);
    return;
  }
  if (!(await confirmed(`apt-get install ${pins.length} Debian package(s)?`))) return;
  const r = Bun.spawnSync(["apt-get", "install", "-y", "--allow-downgrades", ...pins], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0) note("warning: apt-get could not install every recorded package version");
}

/** Warnings where this machine differs from the one that recorded the first step. */
export function warnEnvironment(steps: readonly JobWithIo[], note: (message: string) => void): void {
  const runtime = (steps[0]?.metadata.runtime ?? {}) as {
    os?: { system?: string; machine?: string };
    gpu?: unknown[];
  };
  if (runtime.os?.system && runtime.os.system !== platform())
    note(`warning: recorded on ${runtime.os.system}, reproducing on ${platform()}`);
  if (runtime.os?.machine && runtime.os.machine !== arch())
    note(`warning: recorded on ${runtime.os.machine}, reproducing on ${arch()}`);
  if ((runtime.gpu?.length ?? 0) > 0 && !existsSync("/dev/nvidia0"))
    note("warning: the recording used a GPU; none is visible here");
}
