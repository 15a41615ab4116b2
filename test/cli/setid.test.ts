/**
 * Set-id programs under a non-root user: a traced exec would lose the program's privilege (and with it the
 * program's behaviour), so roar lets it run untraced — the command works as it does without roar, the job is
 * marked incomplete naming the program, and a warning says so on stderr. Where no_new_privs is already set (the
 * ptrace backend's filter as a non-root user) nothing can restore the privilege: the flag and warning say the
 * program ran without it.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import {
  BUN,
  commitAll,
  hermeticEnv,
  othersCanReachCheckout,
  type RunResult,
  roar,
  roarAsNobody,
  tempDir,
  tempRepo,
} from "../helpers/cli.ts";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const hasSetpriv =
  isRoot &&
  Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BUN, "--version"]).exitCode === 0;
const hasCc = Bun.spawnSync(["sh", "-c", "command -v cc"]).exitCode === 0;
const usable = autoChoice() !== null && hasSetpriv && hasCc && othersCanReachCheckout();

/** Writes its effective uid into argv[1] and exits 0 only when it is root: it needs its set-uid privilege. */
const EUID = `#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "w");
  if (!f) return 2;
  fprintf(f, "euid=%d\\n", (int)geteuid());
  fclose(f);
  return geteuid() == 0 ? 0 : 3;
}
`;

interface Setup {
  repo: string;
  euid: string;
  spawner: string;
}

/** A repository owned by nobody, a set-uid-root program and a posix_spawn fixture outside it. */
async function setUp(): Promise<Setup> {
  const base = tempDir("roar-setid-");
  chmodSync(base, 0o755);
  const bin = join(base, "bin");
  mkdirSync(bin, { mode: 0o755 });
  writeFileSync(join(bin, "euid.c"), EUID);
  const euid = join(bin, "euid");
  expect(Bun.spawnSync(["cc", "-o", euid, join(bin, "euid.c")]).exitCode).toBe(0);
  chmodSync(euid, 0o4755);
  const spawner = join(bin, "fileops");
  const fixture = resolve(import.meta.dir, "../fixtures/trace/fileops.c");
  expect(Bun.spawnSync(["cc", "-O1", "-pthread", "-o", spawner, fixture]).exitCode).toBe(0);
  const repo = tempRepo({ ".gitignore": ".test-home/\n*.txt\n" });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  Bun.spawnSync(["chown", "-R", `${NOBODY}:${NOBODY}`, repo]);
  chownSync(repo, NOBODY, NOBODY);
  return { repo, euid, spawner };
}

function asNobody(repo: string, args: string[]): Promise<RunResult> {
  return roarAsNobody(args, repo, {
    ...hermeticEnv(join(repo, ".test-home")),
    GIT_CONFIG_PARAMETERS: "'safe.directory=*'",
  });
}

function reasons(stdout: string): { reason: string; detail: string }[] {
  return ((JSON.parse(stdout) as ShowJobJson).trace as { reasons: { reason: string; detail: string }[] }).reasons;
}

describe.skipIf(!usable)("set-id programs run by a non-root user", () => {
  for (const tracer of ["ptrace", "hybrid", "preload"]) {
    test(`${tracer}: the command itself keeps its privilege, runs untraced, and the job says so`, async () => {
      const { repo, euid } = await setUp();
      const r = await asNobody(repo, ["run", "--json", "--tracer", tracer, euid, "out.txt"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`warning: set-id program ${euid} ran untraced`);
      expect(reasons(r.stdout)).toEqual([expect.objectContaining({ reason: "setuid_exec", detail: euid })]);
    }, 60_000);
  }

  for (const tracer of ["hybrid", "preload"]) {
    test(`${tracer}: run by a traced shell, and through posix_spawn, it keeps its privilege`, async () => {
      const { repo, euid, spawner } = await setUp();
      const shell = await asNobody(repo, ["run", "--json", "--tracer", tracer, "sh", "-c", `${euid} a.txt`]);
      expect(shell.code).toBe(0);
      expect(shell.stderr).toContain(`warning: set-id program ${euid}`);
      expect(reasons(shell.stdout).map((x) => [x.reason, x.detail])).toEqual([["setuid_exec", euid]]);
      const spawned = await asNobody(repo, [
        "run",
        "--json",
        "--tracer",
        tracer,
        spawner,
        "posix-spawn",
        euid,
        "b.txt",
      ]);
      expect(spawned.code).toBe(0);
      expect(reasons(spawned.stdout).map((x) => [x.reason, x.detail])).toEqual([["setuid_exec", euid]]);
    }, 60_000);
  }

  test("ptrace: below a filtered process nothing can restore the privilege — flagged and warned", async () => {
    const { repo, euid } = await setUp();
    const r = await asNobody(repo, ["run", "--json", "--tracer", "ptrace", "sh", "-c", `${euid} a.txt`]);
    expect(r.code).toBe(3); // what the program does without its privilege
    expect(r.stderr).toContain("ran without its set-id privilege");
    expect(r.stderr).toContain("--tracer hybrid or preload");
    expect(reasons(r.stdout).map((x) => x.reason)).toEqual(["setuid_exec"]);
  }, 60_000);
});
