/**
 * `roar/<commit>` tags for registered lineage (`registration.tagging.enabled`): the session's commit and every
 * distinct job commit, lightweight, pushed to origin only with `registration.tagging.push` — which is also what
 * makes a commit never pushed on a branch reachable for a reproduce from the registry.
 */

function git(root: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = Bun.spawnSync(["git", ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
  });
  return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString().trim() };
}

export interface TagResult {
  /** `roar/<commit>` for every commit tagged (new or already there). */
  tags: string[];
  /** Commits git does not have here (recorded elsewhere): not tagged. */
  unknown: string[];
}

export function tagCommits(root: string, commits: readonly string[]): TagResult {
  const out: TagResult = { tags: [], unknown: [] };
  for (const commit of [...new Set(commits)]) {
    const tag = `roar/${commit}`;
    if (!git(root, ["cat-file", "-e", `${commit}^{commit}`]).ok) {
      out.unknown.push(commit);
      continue;
    }
    if (!git(root, ["rev-parse", "-q", "--verify", `refs/tags/${tag}`]).ok) {
      const made = git(root, ["tag", tag, commit]);
      if (!made.ok) throw new Error(`git tag ${tag} failed: ${made.err}`);
    }
    out.tags.push(tag);
  }
  return out;
}

/** Pushes the tags to `remote`; returns git's complaint on failure, null on success. */
export function pushTags(root: string, tags: readonly string[], remote = "origin"): string | null {
  if (tags.length === 0) return null;
  const r = git(root, ["push", "--quiet", remote, ...tags.map((t) => `refs/tags/${t}:refs/tags/${t}`)]);
  return r.ok ? null : r.err.split("\n").slice(-1)[0] || "git push failed";
}

/** Commits no remote-tracking branch or tag of `remote` contains (as far as this clone knows). */
export function unpublishedCommits(root: string, commits: readonly string[], remote = "origin"): string[] {
  if (!git(root, ["remote", "get-url", remote]).ok) return [...new Set(commits)];
  return [...new Set(commits)].filter((c) => {
    const r = git(root, ["branch", "-r", "--contains", c]);
    return !r.ok || !r.out.split("\n").some((line) => line.trim().startsWith(`${remote}/`));
  });
}
