/**
 * Black-box helpers: every CLI test spawns the real `roar` launcher (bin/roar) in a temporary directory with a
 * hermetic environment (own HOME and XDG dirs, no colour forcing, no inherited ROAR_* settings).
 */
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const ROAR_BIN = join(REPO_ROOT, "bin/roar");
export const BUN = process.execPath;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  signal: string | null;
}

/**
 * This test process's temp directories live under one directory named with its pid: removed after the last test
 * (test/helpers/preload.ts) unless ROAR_KEEP_TMP is set, and by the next run when this one was killed. (bun test
 * runs no "exit" handlers: the suite used to leave every test's files behind, a gigabyte a run.)
 */
export const TEMP_ROOT_PREFIX = "roar-tests-";
/** The temp directories ($TMPDIR as it was at each call: a test may point it at /dev/shm) this run used. */
const tempBases = new Set<string>();

/** A fresh temp directory, removed after the test run unless ROAR_KEEP_TMP is set. */
export function tempDir(prefix = "roar-test-"): string {
  const base = tmpdir();
  tempBases.add(base);
  const root = join(base, `${TEMP_ROOT_PREFIX}${process.pid}`);
  mkdirSync(root, { recursive: true });
  return realpathSync(mkdtempSync(join(root, prefix)));
}

/**
 * Removes the temp directories of earlier runs that were killed, and this run's own unless `keepOwn` (before the
 * first test: a test file may have made its fixtures in them as it loaded).
 */
export function removeTempDirs(options: { keepOwn?: boolean } = {}): void {
  if (process.env.ROAR_KEEP_TMP) return;
  for (const base of new Set([tmpdir(), ...tempBases])) {
    for (const name of readdirSync(base)) {
      if (!name.startsWith(TEMP_ROOT_PREFIX)) continue;
      const pid = Number(name.slice(TEMP_ROOT_PREFIX.length));
      if (pid === process.pid ? options.keepOwn : isAlive(pid)) continue;
      rmSync(join(base, name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The environment a test run sees: PATH and a few basics, a private HOME, nothing from the developer. */
export function hermeticEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${join(REPO_ROOT, "node_modules/.bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    LANG: "C.UTF-8",
    TERM: "dumb",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "roar test",
    GIT_AUTHOR_EMAIL: "test@roar.invalid",
    GIT_COMMITTER_NAME: "roar test",
    GIT_COMMITTER_EMAIL: "test@roar.invalid",
    // The AWS SDK's credential chain must never try the instance-metadata address from a test.
    AWS_EC2_METADATA_DISABLED: "true",
  };
  if (process.env.ROAR_TRACER_LIB_DIR) env.ROAR_TRACER_LIB_DIR = process.env.ROAR_TRACER_LIB_DIR;
  // Lets the whole CLI suite run under one backend: ROAR_TRACER__DEFAULT=preload bun test test/cli
  if (process.env.ROAR_TRACER__DEFAULT) env.ROAR_TRACER__DEFAULT = process.env.ROAR_TRACER__DEFAULT;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RoarOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
  home?: string;
  timeoutMs?: number;
}

/** Runs `argv` to completion, collecting its output. */
export async function spawnCollect(
  argv: string[],
  opts: { cwd?: string; env: Record<string, string | undefined>; stdin?: string; timeoutMs?: number },
): Promise<RunResult> {
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 120_000,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr, signal: proc.signalCode === null ? null : String(proc.signalCode) };
}

/** Runs `roar <args>` to completion. */
export async function roar(args: string[], opts: RoarOptions): Promise<RunResult> {
  const home = opts.home ?? join(opts.cwd, ".test-home");
  return spawnCollect([ROAR_BIN, ...args], {
    cwd: opts.cwd,
    env: hermeticEnv(home, opts.env),
    stdin: opts.stdin,
    timeoutMs: opts.timeoutMs,
  });
}

/**
 * Whether another user (nobody) can reach this checkout and its launcher: every directory from / down to it lets
 * others through. A clone made in a `mktemp -d` directory (0700) does not, and the tests that run roar as nobody
 * are skipped there: their subject is roar's behaviour, not this checkout's permissions.
 */
export function othersCanReachCheckout(): boolean {
  for (let dir = REPO_ROOT; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/** Runs `roar <args>` as the unprivileged user nobody (setpriv), as a non-root user would. */
export function roarAsNobody(args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  return spawnCollect(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ROAR_BIN, ...args], { cwd, env });
}

/** Runs roar and parses its stdout as JSON, failing loudly with stderr when it is not. */
export async function roarJson<T = unknown>(args: string[], opts: RoarOptions): Promise<T> {
  const r = await roar(args, opts);
  if (r.code !== 0) throw new Error(`roar ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`roar ${args.join(" ")} did not print JSON:\n${r.stdout}\n${r.stderr}`);
  }
}

export function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd, env: hermeticEnv(join(cwd, ".test-home")) });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** A temp git repository with one commit (a README and a .gitignore for the test home). */
export function tempRepo(files: Record<string, string> = {}): string {
  const dir = tempDir("roar-repo-");
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, "README.md"), "test repo\n");
  writeFileSync(join(dir, ".gitignore"), ".test-home/\n");
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "initial");
  return dir;
}

export function commitAll(dir: string, message = "step"): void {
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "--allow-empty", "-m", message);
}

/** Quotes one word for `sh -c`. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs `roar <args>` with a terminal as its stdout and stderr (util-linux `script` gives it a pseudo-terminal):
 * what a person at a terminal sees. Both streams arrive together in `stdout`, with \r\n line ends.
 */
export async function roarOnTerminal(args: string[], opts: RoarOptions): Promise<RunResult> {
  const home = opts.home ?? join(opts.cwd, ".test-home");
  const line = [ROAR_BIN, ...args].map(shellWord).join(" ");
  return spawnCollect(["script", "-q", "-e", "-c", line, "/dev/null"], {
    cwd: opts.cwd,
    env: hermeticEnv(home, opts.env),
    timeoutMs: opts.timeoutMs,
  });
}
