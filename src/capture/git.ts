/** Git state of the working tree: one git process (status v2 carries commit and branch) and the config file. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCache, writeCache } from "../shared/cache.ts";
import { GIT_ENV, STATUS_ARGS, spawnStatus, takeEarlyGitStatus } from "../shared/early-git.ts";
import { RoarError } from "../shared/errors.ts";
import { bytesToPath, hasEscapedBytes, nulBlock } from "../shared/paths.ts";
import type { CaptureSource } from "./source.ts";

export interface GitState {
  root: string;
  commit: string | null;
  branch: string | null;
  remoteUrl: string | null;
  /** Paths (relative to the root) that differ from HEAD, excluding ignored files. */
  changes: { path: string; status: string; tracked: boolean }[];
}

function git(cwd: string, args: string[]): { ok: boolean; out: string; bytes: Uint8Array } {
  if (!Bun.which("git")) throw new RoarError("git is not installed, but this project is inside a git repository");
  const r = Bun.spawnSync(["git", ...args], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...GIT_ENV },
  });
  return { ok: r.exitCode === 0, out: r.stdout.toString(), bytes: r.stdout };
}

export function readGitState(root: string): GitState {
  return parseStatus(root, git(root, STATUS_ARGS).bytes);
}

/**
 * readGitState in the background: `git status` stats every tracked file (~40 ms at 20,000 files), so `roar run`
 * starts it first and loads its config and store meanwhile. Settles with the state or the error readGitState
 * would have thrown.
 */
export function startGitState(root: string): Promise<GitState> {
  const early = takeEarlyGitStatus(root);
  if (!early && !Bun.which("git"))
    return Promise.reject(new RoarError("git is not installed, but this project is inside a git repository"));
  const state = (early ?? spawnStatus(root)).then((bytes) => parseStatus(root, bytes));
  // Nobody may be waiting yet (the config failed to load first): never an unhandled rejection.
  state.catch(() => {});
  return state;
}

function parseStatus(root: string, bytes: Uint8Array): GitState {
  let commit: string | null = null;
  let branch: string | null = null;
  const changes: GitState["changes"] = [];
  // File names exactly (surrogateescape for bytes that are not UTF-8), as the tracer reports them.
  const records = bytesToPath(bytes).split("\0");
  for (let i = 0; i < records.length; i++) {
    const rec = records[i] as string;
    if (rec.startsWith("# branch.oid ")) {
      const oid = rec.slice("# branch.oid ".length);
      commit = oid === "(initial)" ? null : oid;
    } else if (rec.startsWith("# branch.head ")) {
      const head = rec.slice("# branch.head ".length);
      branch = head === "(detached)" ? "HEAD" : head;
    } else if (rec.startsWith("1 ")) {
      const parts = rec.split(" ");
      changes.push({ path: parts.slice(8).join(" "), status: parts[1] ?? "", tracked: true });
    } else if (rec.startsWith("2 ")) {
      const parts = rec.split(" ");
      changes.push({ path: parts.slice(9).join(" "), status: parts[1] ?? "", tracked: true });
      i++; // the original path follows as its own record
    } else if (rec.startsWith("u ")) {
      const parts = rec.split(" ");
      changes.push({ path: parts.slice(10).join(" "), status: "unmerged", tracked: true });
    } else if (rec.startsWith("? ")) {
      changes.push({ path: rec.slice(2), status: "untracked", tracked: false });
    }
  }
  return { root, commit, branch, remoteUrl: originUrl(root), changes };
}

/**
 * `remote.origin.url`, read from the repository's config file (a git process costs milliseconds on every
 * run); configs with includes are left to git itself.
 */
function originUrl(root: string): string | null {
  try {
    let gitDir = join(root, ".git");
    if (statSync(gitDir).isFile()) {
      const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(gitDir, "utf8"))?.[1]?.trim();
      if (!pointer) throw new Error("unreadable .git file");
      gitDir = resolve(root, pointer);
      const common = join(gitDir, "commondir");
      if (existsSync(common)) gitDir = resolve(gitDir, readFileSync(common, "utf8").trim());
    }
    const text = readFileSync(join(gitDir, "config"), "utf8");
    if (/^\s*\[include/im.test(text)) throw new Error("config includes other files");
    let inOrigin = false;
    for (const line of text.split("\n")) {
      const section = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
      if (section) inOrigin = /^remote\s+"origin"$/.test(section[1] ?? "");
      else if (inOrigin) {
        const url = /^\s*url\s*=\s*(.*?)\s*$/i.exec(line)?.[1];
        if (url) return url.replace(/^"(.*)"$/, "$1");
      }
    }
    return null;
  } catch {
    const remote = git(root, ["config", "--get", "remote.origin.url"]);
    return remote.ok ? remote.out.trim() || null : null;
  }
}

/** The user cache of what `git ls-files` said, per repository, while its index file stays the same. */
const TRACKED_CACHE = "git-tracked.json";
/** Repositories the cache remembers (the most recently asked), and paths per repository. */
const TRACKED_CACHE_ROOTS = 16;
const TRACKED_CACHE_PATHS = 4096;

type TrackedCache = Record<string, { index: string; tracked: Record<string, boolean>; at: number }>;

/**
 * The identity of the repository's index file (inode, size, times): git replaces the file (a rename) whenever it
 * writes it, so the same identity means the same tracked files. Null where the index is not the plain
 * `<root>/.git/index` (a worktree, a submodule, GIT_DIR or GIT_INDEX_FILE set): git is always asked there.
 */
function indexIdentity(root: string): string | null {
  if (process.env.GIT_DIR || process.env.GIT_INDEX_FILE || process.env.GIT_WORK_TREE) return null;
  try {
    const s = statSync(join(root, ".git/index"), { bigint: true });
    return s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : null;
  } catch {
    return null;
  }
}

/**
 * Which of `paths` (absolute) the recorded code represents: tracked by git (`git ls-files`) and not among the
 * working tree's changes when the job started — or among them when the job stored its diff (`withDiff`,
 * --allow-dirty), which holds every change. One git process, only when there is something to ask: what git said
 * is kept in the user's cache while the index file is the same (a re-run asks nothing, ~4 ms of its record step).
 */
export function committedAmong(state: GitState, paths: readonly string[], withDiff = false): Set<string> {
  const prefix = `${state.root}/`;
  // A name that is not valid UTF-8 cannot travel as an argument: it stays data (an input), never dropped.
  const relative = paths.filter((p) => p.startsWith(prefix) && !hasEscapedBytes(p)).map((p) => p.slice(prefix.length));
  if (relative.length === 0 || state.commit === null) return new Set();
  const changed = new Set(state.changes.map((c) => c.path));
  const out = new Set<string>();
  if (withDiff) for (const rel of relative) if (changed.has(rel)) out.add(prefix + rel);
  const index = indexIdentity(state.root);
  const cache = index === null ? undefined : readCache<TrackedCache>(TRACKED_CACHE);
  const entry = cache?.[state.root];
  const known = entry?.index === index ? entry.tracked : {};
  const ask = relative.filter((rel) => known[rel] === undefined);
  const tracked = new Set(relative.filter((rel) => known[rel] === true));
  // ls-files takes no pathspec file: the paths go as arguments, a bounded number per process.
  for (let i = 0; i < ask.length; i += 500) {
    const specs = ask.slice(i, i + 500).map((p) => `:(literal)${p}`);
    const r = Bun.spawnSync(["git", "ls-files", "-z", "--full-name", "--", ...specs], {
      cwd: state.root,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...GIT_ENV },
    });
    if (r.exitCode !== 0) continue;
    const listed = new Set(bytesToPath(r.stdout).split("\0"));
    for (const rel of ask.slice(i, i + 500)) {
      known[rel] = listed.has(rel);
      if (known[rel]) tracked.add(rel);
    }
  }
  if (index !== null && ask.length > 0 && indexIdentity(state.root) === index) {
    // Kept only when the index did not change while git was asked; a few repositories and paths at most.
    const kept = Object.keys(known).length > TRACKED_CACHE_PATHS ? {} : known;
    for (const rel of ask) if (known[rel] !== undefined) kept[rel] = known[rel];
    const roots = Object.entries({ ...cache, [state.root]: { index, tracked: kept, at: Date.now() } })
      .sort((a, b) => b[1].at - a[1].at)
      .slice(0, TRACKED_CACHE_ROOTS);
    writeCache(TRACKED_CACHE, Object.fromEntries(roots));
  }
  for (const rel of tracked) if (!changed.has(rel)) out.add(prefix + rel);
  return out;
}

/**
 * The patch that turns the commit into the working tree for `paths` (modified, deleted or untracked files),
 * as `git diff --binary` against HEAD (or the empty tree in a repository without commits). Built in a
 * temporary index, so the user's own index is never touched.
 */
export function workingTreePatch(root: string, commit: string | null, paths: readonly string[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "roar-index-"));
  try {
    const env = { ...process.env, ...GIT_ENV, GIT_INDEX_FILE: join(dir, "index") };
    const run = (args: string[], stdin?: Uint8Array) => {
      const r = Bun.spawnSync(["git", ...args], { cwd: root, env, stdin, stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr.toString().trim()}`);
      return r.stdout;
    };
    run(commit ? ["read-tree", commit] : ["read-tree", "--empty"]);
    if (paths.length > 0) {
      const list = nulBlock([...paths]);
      run(["add", "-A", "-f", "--pathspec-from-file=-", "--pathspec-file-nul"], list);
    }
    const base = commit ?? run(["hash-object", "-t", "tree", "/dev/null"]).toString().trim();
    return run(["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", base]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Paths (relative to the root) that differ between `commit` and HEAD, or null when git cannot tell (an unknown
 * commit, no repository).
 */
export function changedSince(root: string, commit: string): Set<string> | null {
  const r = Bun.spawnSync(["git", "diff", "--name-only", "--no-renames", "-z", commit, "HEAD", "--"], {
    cwd: root,
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, ...GIT_ENV },
  });
  if (r.exitCode !== 0) return null;
  return new Set(
    bytesToPath(r.stdout)
      .split("\0")
      .filter((p) => p !== ""),
  );
}

/** The job's git field: the commit and branch it ran at, and how the tree differed from that commit. */
export const gitSource: CaptureSource = {
  name: "git",
  async capture({ tree }) {
    if (!tree) return {};
    const { git } = tree;
    return {
      git: {
        commit: git.commit,
        branch: git.branch,
        remoteUrl: git.remoteUrl,
        clean: tree.clean,
        ...(tree.patch ? { patch: tree.patch.blake3 } : {}),
        // Tracked files that already differed from the commit when the job started (outputs of earlier
        // jobs, or --allow-dirty edits): for the others, the commit holds what they had before the job.
        changed: git.changes.filter((c) => c.tracked).map((c) => c.path),
      },
    };
  },
};
