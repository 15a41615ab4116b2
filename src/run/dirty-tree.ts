/**
 * The uncommitted changes that refuse a `roar run` (without --allow-dirty): git's list minus what is roar's own
 * doing or no commit should carry — `.roar/` and reproduce/ rebuilds, outputs of recorded jobs (by path, or by
 * content when renamed or copied), files a parallel run is writing, interpreter caches written by traced jobs
 * (`__pycache__/`, `*.pyc`, …), and the `.roar/` line `roar init` added to .gitignore.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GitState } from "../capture/git.ts";
import { isCacheFile } from "../core/dirty.ts";
import { onlyRoarLineAdded } from "../core/gitignore.ts";
import { hashFiles, isHashError } from "../hash/index.ts";
import { fsPath } from "../shared/paths.ts";
import type { RoarStore } from "../store/store.ts";
import { inFlightWrites } from "./in-flight.ts";

type Change = GitState["changes"][number];

export async function blockingChanges(git: GitState, store: RoarStore, projectRoot: string): Promise<Change[]> {
  if (git.changes.length === 0) return []; // the common case: nothing to look up
  const prefix = projectRoot === git.root ? "" : `${projectRoot.slice(git.root.length + 1)}/`;
  const relative = (c: Change) => (prefix && c.path.startsWith(prefix) ? c.path.slice(prefix.length) : c.path);
  const candidates = git.changes.filter((c) => {
    const rel = relative(c);
    // roar's own directories: the database, and rebuilds made by `roar reproduce`.
    if (rel.startsWith(".roar/") || (!c.tracked && rel.startsWith("reproduce/"))) return false;
    if (!c.tracked && isCacheFile(c.path)) return false;
    return !(c.path === ".gitignore" && c.status !== "unmerged" && gitignoreChangeIsRoars(git, c));
  });
  if (candidates.length === 0) return [];
  // Paths some recorded job wrote: asked about these few, not read whole (a row a recorded output).
  const known = store.recordedOutputsAmong(candidates.map(relative));
  let inFlight: Set<string> | undefined;
  const blocking = candidates.filter((c) => {
    if (known.has(relative(c))) return false;
    // Files a parallel roar run of this project is writing now (read only when something blocks).
    inFlight ??= inFlightWrites(store);
    return !inFlight.has(join(git.root, c.path));
  });
  // An untracked file holding what a recorded job wrote (an output renamed or copied by the user) is known too.
  const untracked = blocking.filter((c) => !c.tracked).map((c) => join(git.root, c.path));
  if (untracked.length === 0) return blocking;
  const hashed = await hashFiles(untracked, { cache: store.hashCache() });
  return blocking.filter((c) => {
    if (c.tracked) return true;
    const h = hashed.get(join(git.root, c.path));
    return !h || isHashError(h) || !store.isRecordedOutput(h.blake3);
  });
}

/** The .gitignore at the repository's root differs from HEAD (or is new) only by roar's `.roar/` line. */
function gitignoreChangeIsRoars(git: GitState, change: Change): boolean {
  let now: string;
  try {
    now = readFileSync(fsPath(join(git.root, ".gitignore")), "utf8");
  } catch {
    return false; // deleted: the user's change
  }
  if (!change.tracked || !git.commit) return onlyRoarLineAdded("", now);
  const head = Bun.spawnSync(["git", "show", `${git.commit}:.gitignore`], {
    cwd: git.root,
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
  });
  return head.exitCode === 0 && onlyRoarLineAdded(head.stdout.toString(), now);
}

/** The blocking changes as the lines of an error message (at most 10). */
export function changeLines(changes: readonly Change[]): string {
  const shown = changes.slice(0, 10).map((c) => `  ${c.tracked ? "modified: " : "untracked:"} ${c.path}`);
  if (changes.length > 10) shown.push(`  … and ${changes.length - 10} more`);
  return shown.join("\n");
}
