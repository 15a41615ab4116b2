/**
 * SIGKILL of the roar CLI itself mid-run: no traced process may stay stopped or run on as an orphan, whatever
 * the backend (ptrace: PTRACE_O_EXITKILL; preload: the supervisor's parent-death signal; hybrid: both).
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, hermeticEnv, ROAR_BIN, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { waitFor } from "../helpers/wait.ts";

/** Processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

for (const tracer of ["ptrace", "preload", "hybrid"]) {
  test(`SIGKILL of roar (${tracer}) leaves no stopped or orphaned process`, async () => {
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");
    const tmp = tempDir("roar-tmpdir-");
    // A unique sleep duration marks this test's processes; the shell forks a background child too.
    const marker = `31.${Math.floor(Math.random() * 1e6)}`;
    const proc = Bun.spawn(
      [ROAR_BIN, "run", "--tracer", tracer, "sh", "-c", `touch started; sleep ${marker} & sleep ${marker}; wait`],
      { cwd: repo, env: hermeticEnv(join(repo, ".test-home"), { TMPDIR: tmp }), stdout: "ignore", stderr: "ignore" },
    );
    const sleeps = () => processesWith(`sleep\0${marker}`);
    expect((await waitFor(sleeps, (pids) => pids.length >= 2)).length).toBe(2);
    expect(existsSync(join(repo, "started"))).toBe(true);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(await waitFor(sleeps, (pids) => pids.length === 0, 5_000)).toEqual([]);
    // Nothing was recorded: the job never finished.
    const log = await roar(["log", "--json"], { cwd: repo });
    expect(JSON.parse(log.stdout).jobs).toEqual([]);
    // The killed roar left its private directory behind; the next run removes it.
    const own = join(tmp, `roar-${process.getuid?.() ?? 0}`);
    const leftovers = () => readdirSync(own).filter((n) => n.startsWith("trace-"));
    expect(leftovers().length).toBe(1);
    commitAll(repo, "the killed job's file");
    const next = await roar(["run", "-q", "--tracer", tracer, "true"], { cwd: repo, env: { TMPDIR: tmp } });
    expect(next.code).toBe(0);
    expect(leftovers()).toEqual([]);
  }, 60_000);
}

test("a second Ctrl-C aborts: the command is killed and nothing is recorded", async () => {
  // The command shrugs SIGINT off, noting each one it gets (roar forwards the first to it).
  const repo = tempRepo({
    "stubborn.py": [
      "import signal, time",
      "def noted(signum, frame):",
      "    open('interrupted.txt', 'a').write('1')",
      "signal.signal(signal.SIGINT, noted)",
      "open('ready.txt', 'w').write('1')",
      "time.sleep(30)",
      "",
    ].join("\n"),
  });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  const proc = Bun.spawn([ROAR_BIN, "run", "python3", "stubborn.py"], {
    cwd: repo,
    env: hermeticEnv(join(repo, ".test-home")),
    stdout: "ignore",
    stderr: "pipe",
  });
  expect(await waitFor(() => existsSync(join(repo, "ready.txt")))).toBe(true);
  proc.kill("SIGINT");
  // roar has taken the first interrupt once the command has it: the next one is a second, not the same one.
  expect(await waitFor(() => existsSync(join(repo, "interrupted.txt")))).toBe(true);
  proc.kill("SIGINT");
  const code = await proc.exited;
  expect(code).toBe(130);
  expect(await new Response(proc.stderr).text()).toContain("aborting without recording");
  expect(
    await waitFor(
      () => processesWith("stubborn.py"),
      (pids) => pids.length === 0,
      5_000,
    ),
  ).toEqual([]);
  const log = await roar(["log", "--json"], { cwd: repo });
  expect(JSON.parse(log.stdout).jobs).toEqual([]);
}, 60_000);
