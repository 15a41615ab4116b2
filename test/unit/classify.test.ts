import { describe, expect, test } from "bun:test";
import { classifyEvents } from "../../src/core/classify.ts";
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
