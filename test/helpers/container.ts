/**
 * A throw-away container for the distribution tests: a cached Debian minbase root (scripts/debian-root.ts)
 * under an overlay, with only a compiled roar copied in (/usr/local/bin/roar) and the root then made
 * read-only. Writable: /tmp (tmpfs), the test's work directory (bound at /work) and, when asked, $HOME=/root
 * (tmpfs). No bun, no node, no checkout inside. Runs through unshare (private mounts) and chroot, as root.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./cli.ts";

export { containerRoot } from "../../scripts/debian-root.ts";

/** Why container tests cannot run here, or null when they can. */
export function containerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (unshare, mount, chroot)";
  if (!Bun.which("debootstrap", { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" })) return "debootstrap is not installed";
  return null;
}

export interface ContainerRun {
  /** Exit status of the whole script. */
  code: number;
  stdout: string;
  stderr: string;
  /** The host directory that was /work inside. */
  work: string;
  /** The host directory that was /results inside: the script and what its steps left (see stepResult). */
  results: string;
}

export interface ContainerOptions {
  /** $HOME inside: "tmpfs" (writable), "read-only" (a directory of the read-only root). */
  home: "tmpfs" | "read-only";
  timeoutMs?: number;
  env?: Record<string, string>;
  /** A host directory to bind at /work (default: a new empty one). */
  work?: string;
}

/**
 * Runs a POSIX shell script inside a container made from `root` with `binary` as /usr/local/bin/roar. The
 * script starts in /work; `step NAME cmd…` (defined for it) runs a command and keeps its stdout, stderr and
 * exit code as /results/NAME.{out,err,code}, readable afterwards with `stepResult`.
 */
export function runInContainer(root: string, binary: string, script: string, options: ContainerOptions): ContainerRun {
  const scratch = tempDir("roar-container-");
  const work = options.work ?? join(scratch, "work");
  const results = join(scratch, "results");
  for (const d of ["upper", "overlay-work", "mnt", "results"]) mkdirSync(join(scratch, d));
  mkdirSync(work, { recursive: true });
  const prelude = [
    'step() { name=$1; shift; set +e; "$@" >"/results/$name.out" 2>"/results/$name.err"; echo $? >"/results/$name.code"; set -e; }',
    "cd /work",
  ].join("\n");
  writeFileSync(join(results, "script.sh"), `${prelude}\n${script}\n`);
  const m = join(scratch, "mnt");
  const env = {
    PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    HOME: options.home === "tmpfs" ? "/root" : "/home/roar",
    TMPDIR: "/tmp",
    LANG: "C.UTF-8",
    GIT_AUTHOR_NAME: "roar container",
    GIT_AUTHOR_EMAIL: "container@roar.invalid",
    GIT_COMMITTER_NAME: "roar container",
    GIT_COMMITTER_EMAIL: "container@roar.invalid",
    ...options.env,
  };
  const envArgs = Object.entries(env)
    .map(([k, v]) => `'${k}=${v.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const host = [
    "set -e",
    `mount -t overlay overlay -o lowerdir=${root},upperdir=${scratch}/upper,workdir=${scratch}/overlay-work ${m}`,
    `install -m 0755 ${binary} ${m}/usr/local/bin/roar`,
    `mkdir -p ${m}/work ${m}/results ${m}/home/roar`,
    `mount -o remount,ro ${m}`,
    `mount -t proc proc ${m}/proc`,
    `mount --rbind /dev ${m}/dev`,
    `mount -t tmpfs -o mode=1777 tmpfs ${m}/tmp`,
    `mount --bind ${work} ${m}/work`,
    `mount --bind ${results} ${m}/results`,
    options.home === "tmpfs" ? `mount -t tmpfs -o mode=0700 tmpfs ${m}/root` : ":",
    `exec chroot ${m} /usr/bin/env -i ${envArgs} /bin/sh -e /results/script.sh`,
  ].join("\n");
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", host], {
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 240_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), work, results };
}

/** What `step NAME …` left behind. */
export function stepResult(run: ContainerRun, name: string): { code: number; out: string; err: string } {
  const read = (ext: string) => readFileSync(join(run.results, `${name}.${ext}`), "utf8");
  return { code: Number(read("code").trim()), out: read("out"), err: read("err") };
}

/** The output of a step that must have succeeded (its stderr in the error otherwise). */
export function stepOutput(run: ContainerRun, name: string): string {
  const r = stepResult(run, name);
  if (r.code !== 0) throw new Error(`${name} exited ${r.code}:\n${r.err}`);
  return r.out;
}
