import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startEarlyGitStatus, takeEarlyGitStatus } from "../../src/shared/early-git.ts";
import { git, tempRepo } from "../helpers/cli.ts";

test("the launcher's early git status is taken once, by `roar run` in the same repository only", async () => {
  const repo = tempRepo({ "a.txt": "a\n" });
  const sub = join(repo, "sub");
  mkdirSync(sub);
  writeFileSync(join(sub, "new.txt"), "untracked\n");
  // Not a traced command: nothing started.
  startEarlyGitStatus(["dag", "--json"], sub);
  expect(takeEarlyGitStatus(repo)).toBeNull();
  // `roar --no-color run …` from a subdirectory: the status of the repository's top level.
  startEarlyGitStatus(["--no-color", "run", "python3", "x.py"], sub);
  expect(takeEarlyGitStatus(join(repo, "other"))).toBeNull(); // another repository: not this one
  startEarlyGitStatus(["run", "true"], sub);
  const bytes = takeEarlyGitStatus(repo);
  expect(bytes).not.toBeNull();
  const text = new TextDecoder().decode((await bytes) ?? undefined);
  expect(text).toContain(`# branch.oid ${git(repo, "rev-parse", "HEAD").trim()}`);
  expect(text).toContain("? sub/new.txt");
  expect(takeEarlyGitStatus(repo)).toBeNull(); // taken once
});
