/**
 * `git status` started before roar's command loads — by the source launcher (bin/roar) before the bundle, by the
 * compiled binary's entry before the command's modules (scripts/compile.ts): `roar run`/`roar build` need it first
 * thing, and it costs a `stat` of every tracked file (~25 ms at 20,000) that loading can overlap. It is left
 * here; `roar run` takes it when it is for the same repository, and otherwise starts its own (capture/git.ts).
 * Plain code: the launcher loads it from source.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** Exactly what roar asks git (capture/git.ts parses it). */
export const STATUS_ARGS = ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"];
/** roar never takes git's optional locks: a user's own git command running meanwhile must not fail. */
export const GIT_ENV = { GIT_OPTIONAL_LOCKS: "0" };

const KEY = Symbol.for("roar.earlyGitStatus");
interface EarlyStatus {
  root: string;
  bytes: Promise<Uint8Array>;
}
type Holder = { [KEY]?: EarlyStatus };

/** `git status` of `root`, running. */
export function spawnStatus(root: string): Promise<Uint8Array> {
  const proc = Bun.spawn(["git", ...STATUS_ARGS], {
    cwd: root,
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, ...GIT_ENV },
  });
  return new Response(proc.stdout).bytes();
}

/** For the launcher: starts the status when the command is `run` or `build` inside a git repository. */
export function startEarlyGitStatus(args: readonly string[], cwd: string): void {
  const word = args.find((a) => !a.startsWith("-"));
  if (word !== "run" && word !== "build") return;
  let dir = cwd;
  while (!existsSync(join(dir, ".git"))) {
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
  if (!Bun.which("git")) return;
  const bytes = spawnStatus(dir);
  bytes.catch(() => {}); // taken later, or never (roar failed before it needed it)
  (globalThis as Holder)[KEY] = { root: dir, bytes };
}

/** The launcher's status of `root`, once; null when there is none for that repository. */
export function takeEarlyGitStatus(root: string): Promise<Uint8Array> | null {
  const holder = globalThis as Holder;
  const early = holder[KEY];
  delete holder[KEY];
  return early?.root === root ? early.bytes : null;
}
