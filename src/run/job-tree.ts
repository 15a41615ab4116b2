/** The tree a traced job runs on: refused when dirty (see run/dirty-tree.ts), or with --allow-dirty its diff. */
import type { GitState } from "../capture/git.ts";
import { workingTreePatch } from "../capture/git.ts";
import type { JobTree } from "../capture/source.ts";
import { hashBytes } from "../hash/index.ts";
import { RoarError } from "../shared/errors.ts";
import type { RoarStore } from "../store/store.ts";
import { blockingChanges, changeLines } from "./dirty-tree.ts";

/** Null outside git; throws on uncommitted changes unless `allowDirty`, which stores the diff with the job. */
export async function jobTree(
  git: GitState | null,
  store: RoarStore,
  projectRoot: string,
  allowDirty: boolean,
): Promise<JobTree | null> {
  if (!git) return null;
  const blocking = await blockingChanges(git, store, projectRoot);
  if (blocking.length === 0) return { git, clean: true, patch: null };
  if (!allowDirty) {
    throw new RoarError(
      `the working tree has uncommitted changes:\n${changeLines(blocking)}`,
      125,
      "Commit them (git add -A && git commit), add generated files to .gitignore, or re-run with --allow-dirty to store the diff with the job.",
    );
  }
  const bytes = workingTreePatch(
    git.root,
    git.commit,
    blocking.map((c) => c.path),
  );
  return { git, clean: false, patch: bytes.length > 0 ? { blake3: await hashBytes(bytes), bytes } : null };
}
