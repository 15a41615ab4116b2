/**
 * `git status` started before roar's command loads — by the source launcher (bin/roar) before the bundle, by the
 * compiled binary's entry before the command's modules (scripts/compile.ts): `roar run`/`roar build` need it first
 * thing, and it costs a `stat` of every tracked file (~25 ms at 20,000) that loading can overlap. It is left
 * here; `roar run` takes it when it is for the same repository, and otherwise starts its own (capture/git.ts).
 * Plain code: the launcher loads it from source.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { tracesJob } from "./jit-options.ts";

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

/** The status without the untracked files, and what lists them: the two halves of a split status (below). */
const TRACKED_STATUS_ARGS = ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=no"];
const UNTRACKED_ARGS = ["ls-files", "-z", "--others", "--exclude-standard"];
/**
 * From this size of the index (~5,000 tracked files) the status is split in two gits run side by side: git's
 * status looks for untracked files only after it has stat'ed every tracked one, one after the other (at 20,000
 * tracked files in 40 directories, 24 ms in all, 8 of them the untracked walk; split, 19.6 ms). Not in a
 * repository with submodules: a status without untracked files no longer reports a submodule whose only change
 * is untracked content.
 */
const SPLIT_INDEX_BYTES = 512 * 1024;

function splitsStatus(root: string): boolean {
  try {
    return statSync(join(root, ".git", "index")).size >= SPLIT_INDEX_BYTES && !existsSync(join(root, ".gitmodules"));
  } catch {
    return false; // no plain .git directory (a worktree, a submodule): one status
  }
}

/** `git status` of `root`, running: its output, as STATUS_ARGS give it. */
export function spawnStatus(root: string): Promise<Uint8Array> {
  const env = { ...process.env, ...GIT_ENV };
  const output = (args: string[]) =>
    new Response(Bun.spawn(["git", ...args], { cwd: root, stdout: "pipe", stderr: "ignore", env }).stdout).bytes();
  if (!splitsStatus(root)) return output(STATUS_ARGS);
  const tracked = output(TRACKED_STATUS_ARGS);
  const untracked = output(UNTRACKED_ARGS);
  return Promise.all([tracked, untracked]).then(([status, others]) => withUntracked(status, others));
}

/** A status's records followed by `? <path>` records for `others` (NUL-terminated paths, as ls-files -z). */
function withUntracked(status: Uint8Array, others: Uint8Array): Uint8Array {
  let count = 0;
  for (let i = 0; i < others.length; i++) if (others[i] === 0) count++;
  if (count === 0) return status;
  const out = new Uint8Array(status.length + others.length + 2 * count);
  out.set(status);
  let at = status.length;
  let start = 0;
  for (let i = 0; i < others.length; i++) {
    if (others[i] !== 0) continue;
    out[at++] = 0x3f; // "?"
    out[at++] = 0x20;
    out.set(others.subarray(start, i + 1), at);
    at += i + 1 - start;
    start = i + 1;
  }
  return out;
}

/** For the launcher: starts the status when the command is `run` or `build` inside a git repository. */
export function startEarlyGitStatus(args: readonly string[], cwd: string): void {
  if (!tracesJob(args)) return;
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
