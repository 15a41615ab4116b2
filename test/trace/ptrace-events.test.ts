/**
 * ptrace backend specifics beyond the shared fidelity suite: the event stream's shape (header first, process
 * tree records, stat at open, fds of write opens), the probe, and pid publication.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ExecFlags, ForkFlags, TRACER_ABI_VERSION, type TraceEventOf } from "../../src/schema/events.ts";
import { incompleteReasons } from "../../src/trace/incomplete.ts";
import { ptraceBackend } from "../../src/trace/ptrace.ts";
import type { TraceOutcome } from "../../src/trace/types.ts";
import { tempDir } from "../helpers/cli.ts";

const usable = ptraceBackend.probe().usable;
const FIXTURES = resolve(import.meta.dir, "../fixtures/trace");
let fileops = "";
let fileopsStatic: string | null = null;

beforeAll(() => {
  if (!usable) return;
  const bin = tempDir("roar-ptrace-bin-");
  fileops = join(bin, "fileops");
  const cc = (out: string, extra: string[]) =>
    Bun.spawnSync(["cc", "-O1", "-pthread", ...extra, "-o", out, join(FIXTURES, "fileops.c")]).exitCode === 0;
  if (!cc(fileops, [])) throw new Error("cc failed");
  fileopsStatic = cc(join(bin, "fileops-static"), ["-static"]) ? join(bin, "fileops-static") : null;
});

async function trace(argv: string[], cwd: string): Promise<TraceOutcome> {
  const eventsPath = join(tempDir("roar-events-"), "events.bin");
  return await ptraceBackend.start({ argv, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, cwd, eventsPath }).done;
}

function ofKind<K extends TraceOutcome["events"][number]["kind"]>(o: TraceOutcome, kind: K): TraceEventOf<K>[] {
  return o.events.filter((e): e is TraceEventOf<K> => e.kind === kind);
}

test("probe explains itself", () => {
  const p = ptraceBackend.probe();
  expect(typeof p.reason).toBe("string");
  expect(p.reason.length).toBeGreaterThan(0);
  if (p.usable) expect(p.library).toMatch(/libroar_ptrace\.so$/);
});

describe.skipIf(!usable)("ptrace event stream", () => {
  test("header first, root PROC_START with ppid = this process, EXIT last for it", async () => {
    const dir = tempDir("roar-ptrace-");
    const o = await trace(["sh", "-c", "true"], dir);
    expect(o.events[0]).toMatchObject({ kind: "header", backend: "ptrace", abi: TRACER_ABI_VERSION });
    const start = ofKind(o, "proc_start")[0];
    expect(start).toMatchObject({ ppid: process.pid, argv: ["sh", "-c", "true"], cwd: dir });
    // the image as the kernel resolved it (sh is a symlink to dash on Debian), as preload reports it
    expect(start?.exe).toBe(realpathSync(Bun.which("sh") ?? "/bin/sh"));
    const exits = ofKind(o, "exit").filter((e) => e.pid === start?.pid);
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ code: 0, signal: null });
    expect(o.incomplete).toEqual([]);
  });

  test("inputs carry their stat at open, writes their fd", async () => {
    const dir = tempDir("roar-ptrace-");
    writeFileSync(join(dir, "in.txt"), "12345");
    const o = await trace([fileops, "copy", "in.txt", "out.txt"], dir);
    const opens = ofKind(o, "open");
    const input = opens.find((e) => e.path === join(dir, "in.txt"));
    expect(input?.stat?.size).toBe(5);
    expect(input?.stat?.ino).toBeGreaterThan(0);
    const output = opens.find((e) => e.path === join(dir, "out.txt"));
    expect(output?.fd).toBeGreaterThanOrEqual(3);
    expect((output?.flags ?? 0) & 0o3).toBe(1);
  });

  test("fork, thread and vfork records; every non-thread child exits", async () => {
    const dir = tempDir("roar-ptrace-");
    writeFileSync(join(dir, "in.txt"), "x");
    const threads = await trace([fileops, "threads", dir, "2"], dir);
    expect(ofKind(threads, "fork").filter((f) => f.flags & ForkFlags.THREAD)).toHaveLength(2);
    expect(ofKind(threads, "exit")).toHaveLength(1);
    const vfork = await trace([fileops, "vfork-exec", fileops, "copy", "in.txt", "out.txt"], dir);
    const forks = ofKind(vfork, "fork");
    expect(forks).toHaveLength(1);
    expect(forks[0]?.flags).toBe(ForkFlags.VFORK);
    const child = forks[0]?.child;
    expect(ofKind(vfork, "proc_start").find((p) => p.pid === child)?.argv).toEqual([
      fileops,
      "copy",
      "in.txt",
      "out.txt",
    ]);
    expect(ofKind(vfork, "exit").map((e) => e.pid)).toContain(child ?? -1);
    expect(vfork.incomplete).toEqual([]);
  });

  test("static binaries are flagged in EXEC", async () => {
    if (!fileopsStatic) return;
    const dir = tempDir("roar-ptrace-");
    const o = await trace([fileopsStatic, "write", "x"], dir);
    expect((ofKind(o, "exec")[0]?.flags ?? 0) & ExecFlags.STATIC).toBe(ExecFlags.STATIC);
    const dyn = await trace([fileops, "write", "x"], dir);
    expect((ofKind(dyn, "exec")[0]?.flags ?? 0) & ExecFlags.STATIC).toBe(0);
  });

  test("chdir is recorded with the new absolute cwd", async () => {
    const dir = tempDir("roar-ptrace-");
    writeFileSync(join(dir, "in.txt"), "x");
    const o = await trace(["sh", "-c", "mkdir sub && cd sub && cat ../in.txt >/dev/null"], dir);
    expect(ofKind(o, "chdir").map((c) => c.path)).toEqual([join(dir, "sub")]);
    expect(ofKind(o, "open").map((e) => e.path)).toContain(join(dir, "in.txt"));
  });

  test("the pid is published while the command runs", async () => {
    const running = ptraceBackend.start({
      argv: ["sleep", "0.3"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      cwd: tempDir("roar-ptrace-"),
      eventsPath: join(tempDir("roar-events-"), "events.bin"),
    });
    const pid = await running.pid;
    expect(pid).toBeGreaterThan(0);
    const outcome = await running.done;
    expect(ofKind(outcome, "proc_start")[0]?.pid).toBe(pid);
  });
});

test("no_exit_record is synthesised for a process that never reported its exit", () => {
  const base = { seq: 0, ts: 0 };
  const incomplete = incompleteReasons(
    [
      { kind: "fork", pid: 1, child: 2, flags: 0, ...base },
      { kind: "fork", pid: 1, child: 3, flags: ForkFlags.THREAD, ...base },
      { kind: "exit", pid: 1, code: 0, signal: null, ...base },
    ],
    { truncatedTail: false },
  );
  expect(incomplete).toEqual([{ reason: "no_exit_record", detail: "pid 2", pid: 2 }]);
});

describe.skipIf(!usable)("ptrace: opens interrupted by signals", () => {
  test("a timer signal without SA_RESTART never makes an open of a regular file fail, nor record it twice", async () => {
    const dir = tempDir("roar-ptrace-eintr-");
    const src = join(dir, "eintr.c");
    writeFileSync(
      src,
      [
        "#include <errno.h>",
        "#include <fcntl.h>",
        "#include <signal.h>",
        "#include <stdio.h>",
        "#include <string.h>",
        "#include <sys/time.h>",
        "#include <unistd.h>",
        "static void tick(int s) { (void)s; }",
        "int main(void) {",
        "  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = tick; /* no SA_RESTART */",
        "  sigaction(SIGALRM, &sa, 0);",
        "  struct itimerval it = { {0, 500}, {0, 500} }; setitimer(ITIMER_REAL, &it, 0);",
        "  int failed = 0;",
        '  for (int i = 0; i < 3000; i++) { int fd = open("in.txt", O_RDONLY); if (fd < 0) failed++; else close(fd); }',
        '  printf("%d\\n", failed);',
        "  return failed != 0;",
        "}",
      ].join("\n"),
    );
    writeFileSync(join(dir, "in.txt"), "x\n");
    expect(Bun.spawnSync(["cc", "-O1", "-o", join(dir, "eintr"), src]).exitCode).toBe(0);
    const o = await trace([join(dir, "eintr")], dir);
    expect(o.exitCode).toBe(0);
    expect(ofKind(o, "open").filter((e) => e.path === join(dir, "in.txt"))).toHaveLength(3000);
  });
});
