/**
 * Signals reach the traced command exactly once, whoever sent them: to roar alone (roar forwards it) or to the
 * whole process group (a terminal's Ctrl-C, `timeout`, `kill -- -PGID`: the command got it directly and roar
 * must not send it again). A command that catches the signal and exits 0 is reported with exit 0.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, hermeticEnv, ROAR_BIN, roar, roarJson, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;

/** Counts SIGINT and SIGTERM; once one arrived, waits a while for duplicates, then writes the counts and exits 0. */
const COUNT_PY = `import signal, time
counts = {signal.SIGINT: 0, signal.SIGTERM: 0}
def handler(sig, frame):
    counts[sig] += 1
signal.signal(signal.SIGINT, handler)
signal.signal(signal.SIGTERM, handler)
open("ready", "w").write("1")
deadline = time.time() + 60
while time.time() < deadline and sum(counts.values()) == 0:
    time.sleep(0.02)
end = time.time() + 1.2
while time.time() < end:
    time.sleep(0.05)
open("counts.txt", "w").write(f"{counts[signal.SIGINT]} {counts[signal.SIGTERM]}")
`;

type Sender = "group" | "roar" | "timeout";

async function deliverOnce(tracer: string, signal: "SIGINT" | "SIGTERM", sender: Sender) {
  const repo = tempRepo({ "count.py": COUNT_PY, ".gitignore": ".test-home/\nready\ncounts.txt\n" });
  await roar(["init", "-y"], { cwd: repo });
  commitAll(repo, "init");
  const run = [ROAR_BIN, "run", "--tracer", tracer, "python3", "count.py"];
  // setsid: roar leads a process group of its own, as under a shell, a supervisor or timeout.
  // timeout's delay: long enough for a loaded machine to start roar and python
  const argv = sender === "timeout" ? ["timeout", "-s", signal.slice(3), "8", ...run] : ["setsid", ...run];
  const proc = Bun.spawn(argv, {
    cwd: repo,
    env: hermeticEnv(join(repo, ".test-home")),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (sender !== "timeout") {
    for (let i = 0; i < 400 && !existsSync(join(repo, "ready")); i++) await Bun.sleep(10);
    expect(existsSync(join(repo, "ready"))).toBe(true);
    process.kill(sender === "group" ? -proc.pid : proc.pid, signal);
  }
  const code = await proc.exited;
  const stderr = await new Response(proc.stderr).text();
  const [ints, terms] = readFileSync(join(repo, "counts.txt"), "utf8").split(" ").map(Number);
  return {
    code,
    stderr,
    received: signal === "SIGINT" ? ints : terms,
    other: signal === "SIGINT" ? terms : ints,
    repo,
  };
}

describe.skipIf(!tracerAvailable)("signals reach the command exactly once", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      for (const sender of ["group", "roar"] as const) {
        test(`${tracer}: ${signal} sent to ${sender === "group" ? "the process group" : "roar alone"}`, async () => {
          const r = await deliverOnce(tracer, signal, sender);
          expect(r.received).toBe(1);
          expect(r.other).toBe(0);
          // The command caught it and exited 0: that is the exit status, and what the job records.
          expect(r.code).toBe(0);
          const log = await roarJson<{ jobs: { exitCode: number | null }[] }>(["log", "--json"], { cwd: r.repo });
          expect(log.jobs[0]?.exitCode).toBe(0);
          if (signal === "SIGINT") expect(r.stderr).toContain("interrupted (exit 0)");
        }, 60_000);
      }
    }
    test(`${tracer}: timeout -s TERM (signals the whole group) delivers one SIGTERM`, async () => {
      const r = await deliverOnce(tracer, "SIGTERM", "timeout");
      expect(r.received).toBe(1);
      // timeout exits 124 when its command had to be signalled, whatever the command then did
      expect(r.code).toBe(124);
    }, 60_000);
  }
});
