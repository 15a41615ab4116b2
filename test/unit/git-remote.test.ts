import { expect, test } from "bun:test";
import { join } from "node:path";
import { readGitState } from "../../src/capture/git.ts";
import { git, tempDir, tempRepo } from "../helpers/cli.ts";

test("the origin URL read from .git/config matches git's own answer, also in a worktree", () => {
  const repo = tempRepo();
  expect(readGitState(repo).remoteUrl).toBeNull();
  git(repo, "remote", "add", "upstream", "https://example.invalid/other.git");
  git(repo, "remote", "add", "origin", "git@example.invalid:team/project.git");
  const state = readGitState(repo);
  expect(state.remoteUrl).toBe(git(repo, "config", "--get", "remote.origin.url").trim());
  expect(state.branch).toBe("main");
  expect(state.commit).toBe(git(repo, "rev-parse", "HEAD").trim());
  // Inside a temp directory of its own, so it is removed with the others at exit.
  const worktree = join(tempDir("roar-worktree-"), "wt");
  git(repo, "worktree", "add", "-q", worktree, "-b", "side");
  expect(readGitState(worktree).remoteUrl).toBe("git@example.invalid:team/project.git");
  expect(readGitState(worktree).branch).toBe("side");
});
