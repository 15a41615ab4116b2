import { expect, test } from "bun:test";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { STATUS_ARGS, spawnStatus, startEarlyGitStatus, takeEarlyGitStatus } from "../../src/shared/early-git.ts";
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

test("in a repository of thousands of files the status is split in two gits, and says exactly what one would", async () => {
  const repo = tempRepo({ "keep.txt": "kept\n" });
  for (let d = 0; d < 35; d++) {
    mkdirSync(join(repo, `data/d${d}`), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(repo, `data/d${d}/file-${i}.txt`), `${d}/${i}\n`);
  }
  writeFileSync(join(repo, ".gitignore"), ".test-home/\n*.log\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "many files");
  // What splits it: an index of 7,000 entries is over 512 KiB.
  expect(statSync(join(repo, ".git/index")).size).toBeGreaterThanOrEqual(512 * 1024);
  // Every kind of change: modified, deleted, untracked (in untracked directories too, odd names, a nested
  // repository), ignored.
  writeFileSync(join(repo, "keep.txt"), "changed\n");
  rmSync(join(repo, "data/d3/file-7.txt"));
  mkdirSync(join(repo, "new/deeper"), { recursive: true });
  writeFileSync(join(repo, "new/deeper/n.txt"), "n\n");
  writeFileSync(join(repo, "with space.txt"), "s\n");
  writeFileSync(Buffer.concat([Buffer.from(`${repo}/bytes-`), Buffer.from([0xff]), Buffer.from(".txt")]), "b\n");
  writeFileSync(join(repo, "debug.log"), "ignored\n");
  mkdirSync(join(repo, "nested"));
  git(join(repo, "nested"), "init", "-q");
  writeFileSync(join(repo, "nested/inner.txt"), "inner\n");

  const plain = Bun.spawnSync(["git", ...STATUS_ARGS], { cwd: repo, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" } });
  const records = (bytes: Uint8Array) => new Set(Buffer.from(bytes).toString("latin1").split("\0").filter(Boolean));
  const split = records(await spawnStatus(repo));
  expect(split).toEqual(records(plain.stdout));
  expect(split).toContain("? new/deeper/n.txt");
  expect(split).toContain("? nested/");
  expect(split).toContain("? bytes-\xff.txt");
  expect([...split].some((r) => r.endsWith("debug.log"))).toBe(false);
});
