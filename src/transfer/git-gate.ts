/**
 * The clean-tree rule `roar put` shares with `roar run`: tracked changes and unknown untracked files block; outputs
 * of earlier roar jobs, roar's own directories and files a parallel roar run is writing do not.
 */
import { join } from "node:path";
import type { GitState } from "../capture/git.ts";
import { inFlightWrites } from "../run/in-flight.ts";
import type { RoarStore } from "../store/store.ts";

export function blockingChanges(git: GitState, store: RoarStore, projectRoot: string): GitState["changes"] {
  const known = store.outputPaths();
  const prefix = projectRoot === git.root ? "" : `${projectRoot.slice(git.root.length + 1)}/`;
  let inFlight: Set<string> | undefined;
  return git.changes.filter((c) => {
    const rel = prefix && c.path.startsWith(prefix) ? c.path.slice(prefix.length) : c.path;
    if (rel.startsWith(".roar/") || (!c.tracked && rel.startsWith("reproduce/"))) return false;
    if (known.has(rel)) return false;
    inFlight ??= inFlightWrites(store);
    return !inFlight.has(join(git.root, c.path));
  });
}

/** The blocking changes as the lines of an error message (at most 10). */
export function changeLines(changes: GitState["changes"]): string {
  const shown = changes.slice(0, 10).map((c) => `  ${c.tracked ? "modified: " : "untracked:"} ${c.path}`);
  if (changes.length > 10) shown.push(`  … and ${changes.length - 10} more`);
  return shown.join("\n");
}
