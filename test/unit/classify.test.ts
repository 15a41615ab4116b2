import { describe, expect, test } from "bun:test";
import { classifyEvents, IncrementalClassifier } from "../../src/core/classify.ts";
import { OpenFlags, type TraceEvent } from "../../src/schema/events.ts";

let seq = 0;
const base = (pid = 10) => ({ pid, seq: ++seq, ts: seq });
const open = (path: string, flags: number, stat: { size: number; mtimeNs: number } | null = null): TraceEvent => ({
  kind: "open",
  ...base(),
  path,
  flags,
  fd: 3,
  stat: stat ? { dev: 1, ino: 2, ctimeNs: 0, ...stat } : null,
});
const st = { size: 1, mtimeNs: 1 };

function facts(events: TraceEvent[]) {
  const c = classifyEvents(events);
  const pick = (f: (x: { read: boolean; written: boolean; deleted: boolean }) => boolean) =>
    [...c.files.values()]
      .filter(f)
      .map((x) => x.path)
      .sort();
  return { read: pick((x) => x.read), written: pick((x) => x.written), deleted: pick((x) => x.deleted) };
}

describe("classifyEvents", () => {
  test("reads, writes, and both", () => {
    expect(
      facts([
        open("/p/in", 0, st),
        open("/p/out", OpenFlags.WRONLY | OpenFlags.CREAT | OpenFlags.TRUNC),
        open("/p/rw", 0, st),
        open("/p/rw", OpenFlags.WRONLY | OpenFlags.TRUNC),
      ]),
    ).toEqual({ read: ["/p/in", "/p/rw"], written: ["/p/out", "/p/rw"], deleted: [] });
  });

  test("a file the job wrote and then read is not an input", () => {
    expect(facts([open("/p/t", OpenFlags.WRONLY | OpenFlags.CREAT), open("/p/t", 0, st)])).toEqual({
      read: [],
      written: ["/p/t"],
      deleted: [],
    });
  });

  test("rename-over attributes the write to the final name; temp files vanish", () => {
    const events: TraceEvent[] = [
      open("/p/out.tmp", OpenFlags.WRONLY | OpenFlags.CREAT),
      { kind: "rename", ...base(), from: "/p/out.tmp", to: "/p/out" },
      open("/p/scratch", OpenFlags.WRONLY | OpenFlags.CREAT),
      { kind: "unlink", ...base(), path: "/p/scratch", flags: 0 },
      { kind: "unlink", ...base(), path: "/p/old", flags: 0 },
    ];
    expect(facts(events)).toEqual({ read: [], written: ["/p/out"], deleted: ["/p/old"] });
  });

  test("a directory renamed into place takes the files written inside it along", () => {
    const events: TraceEvent[] = [
      open("/p/in.txt", 0, st),
      open("/p/model.tmp/weights.bin", OpenFlags.WRONLY | OpenFlags.CREAT),
      open("/p/model.tmp/config.json", OpenFlags.WRONLY | OpenFlags.CREAT),
      { kind: "rename", ...base(), from: "/p/model.tmp", to: "/p/model" },
      open("/p/model/extra.txt", OpenFlags.WRONLY | OpenFlags.CREAT),
    ];
    expect(facts(events)).toEqual({
      read: ["/p/in.txt"],
      written: ["/p/model/config.json", "/p/model/extra.txt", "/p/model/weights.bin"],
      deleted: [],
    });
  });

  test("a renamed directory leaves its removed temporaries behind; plain file renames are unaffected", () => {
    const events: TraceEvent[] = [
      open("/p/model.tmp/weights", OpenFlags.WRONLY | OpenFlags.CREAT),
      open("/p/model.tmp/scratch", OpenFlags.WRONLY | OpenFlags.CREAT),
      { kind: "unlink", ...base(), path: "/p/model.tmp/scratch", flags: 0 },
      { kind: "rename", ...base(), from: "/p/model.tmp", to: "/p/model" },
    ];
    expect(facts(events)).toEqual({ read: [], written: ["/p/model/weights"], deleted: [] });
    const many: TraceEvent[] = [];
    for (let i = 0; i < 20_000; i++) {
      many.push(open(`/p/in/${i}`, 0, st));
      many.push({ kind: "rename", ...base(), from: `/p/old/${i}`, to: `/p/new/${i}` });
    }
    const c = classifyEvents(many);
    expect(c.files.get("/p/new/19999")).toMatchObject({ written: true, deleted: false });
    expect(c.files.get("/p/old/19999")).toMatchObject({ written: false, deleted: true });
  });

  test("O_RDWR without truncation is a read that may have written", () => {
    const c = classifyEvents([open("/p/db", OpenFlags.RDWR, st)]);
    expect(c.files.get("/p/db")).toMatchObject({ read: true, written: false, maybeWritten: true });
  });

  test("processes and executables come from proc_start and exit", () => {
    const c = classifyEvents([
      { kind: "proc_start", ...base(5), ppid: 1, exe: "/usr/bin/python3", argv: ["python3", "x.py"], cwd: "/p" },
      { kind: "exit", ...base(5), code: 0, signal: null },
    ]);
    expect(c.executables.has("/usr/bin/python3")).toBe(true);
    expect(c.processes).toEqual([
      { pid: 5, ppid: 1, argv: ["python3", "x.py"], exe: "/usr/bin/python3", exitCode: 0, signal: null },
    ]);
  });
});

describe("files the job created", () => {
  test("O_CREAT|O_EXCL (mkstemp) and an empty file after O_CREAT are new, not inputs; renamed temp files vanish", () => {
    const tmp = { size: 0, mtimeNs: 5 };
    const events: TraceEvent[] = [
      open("/p/tmpab12", OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.EXCL, tmp),
      { kind: "rename", ...base(), from: "/p/tmpab12", to: "/p/final" },
      open("/p/db.sqlite", OpenFlags.RDWR | OpenFlags.CREAT, tmp),
      open("/p/log.txt", OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.APPEND, tmp),
      open("/p/db.sqlite-journal", OpenFlags.RDWR | OpenFlags.CREAT, tmp),
      { kind: "unlink", ...base(), path: "/p/db.sqlite-journal", flags: 0 },
    ];
    expect(facts(events)).toEqual({ read: [], written: ["/p/db.sqlite", "/p/final", "/p/log.txt"], deleted: [] });
  });
});

describe("IncrementalClassifier (file events classified as the trace is decoded)", () => {
  /** A job of two processes: reads, writes, a temp dir renamed into place, a link, an unlink, a prior state. */
  function trace(): TraceEvent[] {
    let n = 0;
    const at = (pid: number) => ({ pid, seq: ++n, ts: n * 10 });
    const st1 = { dev: 1, ino: 2, size: 5, mtimeNs: 7, ctimeNs: 7 };
    const events: TraceEvent[] = [
      { kind: "proc_start", ...at(10), ppid: 1, argv: ["/usr/bin/python3", "job.py"], exe: "/usr/bin/python3" },
      { kind: "open", ...at(10), path: "/p/in.txt", flags: 0, fd: 3, stat: st1 },
      { kind: "fork", ...at(10), child: 11, flags: 0 },
      { kind: "exec", ...at(11), path: "/bin/sh", argv: ["sh"] },
      { kind: "open", ...at(11), path: "/p/tmp/a", flags: OpenFlags.WRONLY | OpenFlags.CREAT, fd: 4, stat: null },
      { kind: "prewrite", ...at(11), path: "/p/old.txt", stat: st1, mode: 0o100644, copy: null },
      { kind: "open", ...at(11), path: "/p/old.txt", flags: OpenFlags.WRONLY | OpenFlags.TRUNC, fd: 5, stat: st1 },
      { kind: "rename", ...at(11), from: "/p/tmp", to: "/p/final" },
      { kind: "link", ...at(11), from: "/p/final/a", to: "/p/ln", flags: 1 },
      { kind: "exit", ...at(11), code: 0, signal: null },
      { kind: "unlink", ...at(10), path: "/p/gone.txt", flags: 0 },
      { kind: "net", ...at(10), op: "connect", address: "10.0.0.1:443" },
    ] as TraceEvent[];
    for (let i = 0; i < 200; i++)
      events.push({
        kind: "open",
        ...at(10),
        path: `/p/data/${i}.csv`,
        flags: 0,
        fd: 6,
        stat: { ...st1, ino: 100 + i },
      });
    events.push({ kind: "exit", ...at(10), code: 0, signal: null } as TraceEvent);
    return events;
  }

  /** Feeds `stream` as a tail would: growing, observed in pieces of these sizes. */
  function feed(c: IncrementalClassifier, stream: TraceEvent[], pieces: number[]): void {
    const grown: TraceEvent[] = [];
    let from = 0;
    for (const size of pieces) {
      grown.push(...stream.slice(from, from + size));
      c.add(grown, from);
      from += size;
    }
  }

  test("fed in order, in any pieces: the same classification, built while the job ran", () => {
    const events = trace();
    for (const pieces of [[events.length], [1, 5, 100, 500], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 200]]) {
      const c = new IncrementalClassifier();
      feed(c, events, pieces);
      expect(c.classify(events)).toEqual(classifyEvents(events));
      expect(c.reused).toBe(true);
    }
  });

  test("events the stream held at the end (never fed) are applied after", () => {
    const events = trace();
    const c = new IncrementalClassifier();
    feed(c, events.slice(0, 50), [20, 30]);
    expect(c.classify(events)).toEqual(classifyEvents(events));
    expect(c.reused).toBe(true);
  });

  test("out of order, another stream's file events in between, or one dropped: classified anew, the same", () => {
    const events = trace();
    const cases: { fed: TraceEvent[]; final: TraceEvent[] }[] = [];
    // Two processes' batches in the stream out of time order (preload flushes each process's buffer).
    cases.push({ fed: [...events.slice(0, 3), ...events.slice(10, 20), ...events.slice(3, 10)], final: events });
    // A file event of another stream (ptrace's) sorting between the ones fed.
    const other = events[4] as TraceEvent;
    cases.push({ fed: events.filter((e) => e !== other), final: events });
    // One fed event not in the final stream (its process belonged to the other tracer).
    cases.push({ fed: events, final: events.filter((e) => e !== other) });
    for (const { fed, final } of cases) {
      const c = new IncrementalClassifier();
      feed(c, fed, [7, 7, fed.length]);
      expect(c.classify(final)).toEqual(classifyEvents(final));
      expect(c.reused).toBe(false);
    }
  });
});
