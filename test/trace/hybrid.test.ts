/**
 * The hybrid backend: the merge rules (pure), and real traces where preload and ptrace hand processes to each
 * other — a static step under a dynamic shell, a dynamic child of a static parent, `env -i`.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TraceEvent } from "../../src/schema/events.ts";
import { hybridBackend } from "../../src/trace/hybrid.ts";
import { type CoverageEntry, mergeHybrid, parseCoverage } from "../../src/trace/hybrid-merge.ts";
import { autoChoice, backendStatuses } from "../../src/trace/select.ts";
import type { TraceOutcome } from "../../src/trace/types.ts";
import { roar, tempDir, tempRepo } from "../helpers/cli.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/trace");

const open = (pid: number, ts: number, path: string, seq = 0): TraceEvent => ({
  kind: "open",
  pid,
  seq,
  ts,
  path,
  flags: 0,
  fd: 3,
  stat: null,
});

describe("hybrid merge", () => {
  test("parses the coverage log", () => {
    const log = parseCoverage("S 10 100 p -\nF 11 150 p 10\nS 11 200 t static_binary\nE 11 300 0\nE 10 400 2\npartial");
    expect(log).toEqual([
      { kind: "exec", pid: 10, ts: 100, mechanism: "preload", reason: null },
      { kind: "fork", pid: 11, ts: 150, mechanism: "preload", parent: 10 },
      { kind: "exec", pid: 11, ts: 200, mechanism: "ptrace", reason: "static_binary" },
      { kind: "exit", pid: 11, ts: 300, status: 0 },
      { kind: "exit", pid: 10, ts: 400, status: 2 },
    ]);
  });

  test("keeps each record only from the mechanism that owned its process then", () => {
    const log: CoverageEntry[] = [
      { kind: "exec", pid: 10, ts: 100, mechanism: "preload", reason: null },
      { kind: "exec", pid: 10, ts: 200, mechanism: "ptrace", reason: "static_binary" },
      { kind: "exec", pid: 10, ts: 300, mechanism: "preload", reason: null },
      { kind: "exit", pid: 10, ts: 400, status: 0 },
    ];
    const preload: TraceEvent[] = [
      open(10, 150, "/a"), // preload era: kept
      { kind: "incomplete", pid: 10, seq: 1, ts: 190, reason: "static_binary", detail: "/static" }, // taken over
      open(10, 250, "/b-dup", 2), // preload still loaded while ptrace owns it: dropped
      open(10, 350, "/c", 3),
    ];
    const ptrace: TraceEvent[] = [
      { kind: "header", pid: 0, seq: 0, ts: 0, abi: 1, backend: "ptrace" },
      open(10, 250, "/b", 1),
      open(10, 350, "/c-dup", 2), // cannot happen, but would be preload's
      { kind: "incomplete", pid: 10, seq: 3, ts: 360, reason: "io_uring", detail: "" },
    ];
    const { events, coverage } = mergeHybrid(ptrace, preload, log);
    const opens = events.flatMap((e) => (e.kind === "open" ? [e.path] : []));
    expect(opens.sort()).toEqual(["/a", "/b", "/c"]);
    expect(events.filter((e) => e.kind === "incomplete").map((e) => e.kind === "incomplete" && e.reason)).toEqual([
      "io_uring",
    ]);
    expect(coverage).toEqual([
      { pid: 10, mechanism: "preload" },
      { pid: 10, mechanism: "ptrace", reason: "static_binary" },
      { pid: 10, mechanism: "preload" },
    ]);
  });

  test("a tree preload alone covered: its records kept in their order but its header and what the supervisor took over", () => {
    const log: CoverageEntry[] = [
      { kind: "exec", pid: 10, ts: 100, mechanism: "preload", reason: null },
      { kind: "fork", pid: 11, ts: 150, mechanism: "preload", parent: 10 },
      { kind: "exit", pid: 11, ts: 400, status: 9 },
    ];
    const ptrace: TraceEvent[] = [{ kind: "header", pid: 0, seq: 0, ts: 0, backend: "ptrace", abi: 4 }];
    const preload: TraceEvent[] = [
      { kind: "header", pid: 0, seq: 0, ts: 0, backend: "preload", abi: 4 },
      open(10, 110, "/a", 1),
      { kind: "fork", pid: 10, seq: 2, ts: 150, child: 11, flags: 0 },
      open(11, 160, "/b", 0),
      { kind: "incomplete", pid: 11, seq: 1, ts: 170, reason: "static_binary", detail: "" },
      open(10, 180, "/c", 3),
      { kind: "incomplete", pid: 10, seq: 4, ts: 190, reason: "io_uring", detail: "" },
      open(10, 200, "/d", 5),
      { kind: "exit", pid: 10, seq: 6, ts: 300, code: 0, signal: null },
    ];
    const { events } = mergeHybrid(ptrace, preload, log);
    // The supervisor's header first, then preload's records as they came, then the EXIT pid 11 never wrote.
    expect(events).toEqual([
      ptrace[0],
      ...preload.filter((e) => e.kind !== "header" && !(e.kind === "incomplete" && e.reason === "static_binary")),
      { kind: "exit", pid: 11, seq: 0, ts: 400, code: null, signal: 9 },
    ] as TraceEvent[]);
  });

  test("ownership is right for runs of records, interleaved processes and times before, at and after switches", () => {
    const log: CoverageEntry[] = [
      { kind: "exec", pid: 10, ts: 100, mechanism: "preload", reason: null },
      { kind: "exec", pid: 10, ts: 200, mechanism: "ptrace", reason: "static_binary" },
      { kind: "exec", pid: 10, ts: 300, mechanism: "preload", reason: null },
      { kind: "fork", pid: 11, ts: 120, mechanism: "preload", parent: 10 },
      { kind: "exec", pid: 11, ts: 220, mechanism: "ptrace", reason: "static_binary" },
    ];
    // The owner at a time, straight from the log: the mechanism of the last switch at or before it.
    const owner = (pid: number, ts: number) =>
      log
        .flatMap((c) => (c.kind !== "exit" && c.pid === pid && c.ts <= ts ? [c] : []))
        .sort((a, b) => a.ts - b.ts)
        .at(-1)?.mechanism ?? null;
    const times = [50, 100, 150, 199, 200, 250, 299, 300, 350, 140, 120, 119, 220, 221, 90, 310];
    const preload: TraceEvent[] = [];
    const ptrace: TraceEvent[] = [];
    let seq = 0;
    for (const ts of times)
      for (const pid of [10, 10, 11, 12]) {
        preload.push(open(pid, ts, `/p/${pid}/${ts}/${seq}`, seq++));
        ptrace.push(open(pid, ts, `/t/${pid}/${ts}/${seq}`, seq++));
      }
    const { events } = mergeHybrid(ptrace, preload, log);
    const kept = new Set(events.flatMap((e) => (e.kind === "open" ? [e.path] : [])));
    const expected = new Set([
      ...ptrace.flatMap((e) => (e.kind === "open" && owner(e.pid, e.ts) !== "preload" ? [e.path] : [])),
      ...preload.flatMap((e) => (e.kind === "open" && owner(e.pid, e.ts) !== "ptrace" ? [e.path] : [])),
    ]);
    expect(kept).toEqual(expected);
    // Both mechanisms' records are among those kept, and each process's own ones.
    expect([...kept].some((p) => p.startsWith("/t/10/"))).toBe(true);
    expect([...kept].some((p) => p.startsWith("/p/11/"))).toBe(true);
    expect(kept.size).toBeLessThan(events.length + 1);
    expect(kept.size).toBeGreaterThan(times.length * 4);
  });

  test("NET records follow the same rule; a foreign ELF preload could not enter is the supervisor's", () => {
    const log: CoverageEntry[] = [
      { kind: "exec", pid: 10, ts: 100, mechanism: "preload", reason: null },
      { kind: "exec", pid: 10, ts: 200, mechanism: "ptrace", reason: "foreign_elf" },
    ];
    const net = (ts: number, address: string): TraceEvent => ({
      kind: "net",
      pid: 10,
      seq: ts,
      ts,
      op: "connect",
      address,
    });
    const preload: TraceEvent[] = [
      net(150, "10.0.0.1:80"),
      { kind: "incomplete", pid: 10, seq: 1, ts: 190, reason: "foreign_elf", detail: "/i386" },
      net(250, "10.0.0.2:80"), // not possible in a 32-bit image; dropped by ownership all the same
    ];
    const ptrace: TraceEvent[] = [net(150, "10.0.0.3:80"), net(250, "10.0.0.4:80")];
    const { events } = mergeHybrid(ptrace, preload, log);
    expect(events.flatMap((e) => (e.kind === "net" ? [e.address] : [])).sort()).toEqual(["10.0.0.1:80", "10.0.0.4:80"]);
    expect(events.some((e) => e.kind === "incomplete")).toBe(false);
  });

  test("adds the EXIT a covered process could not write (killed by a signal)", () => {
    const log: CoverageEntry[] = [
      { kind: "exec", pid: 7, ts: 10, mechanism: "preload", reason: null },
      { kind: "exit", pid: 7, ts: 90, status: 15 },
    ];
    const preload: TraceEvent[] = [
      { kind: "proc_start", pid: 7, seq: 0, ts: 20, ppid: 1, exe: "/bin/x", argv: ["x"], cwd: "/" },
    ];
    const { events } = mergeHybrid([], preload, log);
    expect(events.at(-1)).toEqual({ kind: "exit", pid: 7, seq: 0, ts: 90, code: null, signal: 15 });
  });
});

let fileops = "";
let fileopsStatic: string | null = null;

beforeAll(() => {
  const bin = tempDir("roar-hybrid-bin-");
  fileops = join(bin, "fileops");
  const cc = (out: string, extra: string[]) =>
    Bun.spawnSync(["cc", "-O1", "-pthread", ...extra, "-o", out, join(FIXTURES, "fileops.c")]).exitCode === 0;
  if (!cc(fileops, [])) throw new Error("cc failed");
  const s = join(bin, "fileops-static");
  fileopsStatic = cc(s, ["-static"]) ? s : null;
});

const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

async function trace(argv: string[], files: Record<string, string>): Promise<{ outcome: TraceOutcome; dir: string }> {
  const dir = tempDir("roar-hybrid-");
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const eventsPath = join(tempDir("roar-events-"), "events.bin");
  const outcome = await hybridBackend.start({ argv, env: env(), cwd: dir, eventsPath }).done;
  return { outcome, dir };
}

function opensOf(outcome: TraceOutcome, path: string): TraceEvent[] {
  return outcome.events.filter((e) => e.kind === "open" && e.path === path);
}

describe.skipIf(!hybridBackend.probe().usable)("hybrid backend", () => {
  test("auto selects hybrid here", () => {
    expect(autoChoice(backendStatuses())).toBe("hybrid");
  });

  test("a static step under a dynamic shell is recorded by ptrace, the shell by preload, once each", async () => {
    if (!fileopsStatic) return console.warn("skipped: cc -static unavailable");
    const { outcome, dir } = await trace(
      ["sh", "-c", `cat in.txt > mid.txt && ${fileopsStatic} copy mid.txt out.txt`],
      {
        "in.txt": "x\n",
      },
    );
    expect(outcome.exitCode).toBe(0);
    expect(outcome.incomplete).toEqual([]);
    expect(opensOf(outcome, join(dir, "in.txt"))).toHaveLength(1);
    expect(opensOf(outcome, join(dir, "mid.txt"))).toHaveLength(2); // written by sh, read by the static step
    expect(opensOf(outcome, join(dir, "out.txt"))).toHaveLength(1);
    const staticPid = opensOf(outcome, join(dir, "out.txt"))[0]?.pid;
    expect(outcome.coverage).toContainEqual({ pid: staticPid ?? -1, mechanism: "ptrace", reason: "static_binary" });
    const top = outcome.coverage?.[0];
    expect(top?.mechanism).toBe("preload");
  });

  test("a dynamic child of a static parent goes back to preload, with no double counting", async () => {
    if (!fileopsStatic) return console.warn("skipped: cc -static unavailable");
    const { outcome, dir } = await trace([fileopsStatic, "vfork-exec", fileops, "copy", "in.txt", "out.txt"], {
      "in.txt": "x\n",
    });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.incomplete).toEqual([]);
    const reads = opensOf(outcome, join(dir, "in.txt"));
    expect(reads).toHaveLength(1);
    const childPid = reads[0]?.pid ?? -1;
    const mechanisms = (outcome.coverage ?? []).filter((c) => c.pid === childPid).map((c) => c.mechanism);
    expect(mechanisms).toEqual(["ptrace", "preload"]); // forked by the stepped parent, then exec'd a covered image
    expect(opensOf(outcome, join(dir, "out.txt"))).toHaveLength(1);
  });

  test("env -i of a static binary is traced by ptrace and complete", async () => {
    if (!fileopsStatic) return console.warn("skipped: cc -static unavailable");
    const { outcome, dir } = await trace(["env", "-i", fileopsStatic, "copy", "in.txt", "out.txt"], {
      "in.txt": "x\n",
    });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.incomplete).toEqual([]);
    expect(opensOf(outcome, join(dir, "out.txt"))).toHaveLength(1);
    expect(outcome.coverage?.some((c) => c.mechanism === "ptrace")).toBe(true);
  });

  test("roar run --tracer hybrid records the job with the hybrid backend", async () => {
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    writeFileSync(join(repo, "in.txt"), "x\n");
    const r = await roar(["run", "--allow-dirty", "--tracer", "hybrid", "sh", "-c", "cat in.txt > out.txt"], {
      cwd: repo,
    });
    expect(r.code).toBe(0);
    const bad = await roar(["run", "--allow-dirty", "--tracer", "ebpf", "true"], { cwd: repo });
    expect(bad.stderr).toContain("auto, hybrid, ptrace or preload");
  });
});
