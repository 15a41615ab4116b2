/**
 * Tracer fidelity: every backend must report exactly the files a command read and wrote. One scenario per
 * known pitfall; each asserts the exact read/written/deleted sets inside its own temp dir (system paths are
 * ignored). A scenario may list backends that are allowed to flag it incomplete instead (e.g. a static binary
 * under LD_PRELOAD): then `outcome.incomplete` must be non-empty, or the sets must still be exact.
 * C fixtures are compiled with the system cc at test time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fsPath } from "../../src/shared/paths.ts";
import { backends } from "../../src/trace/backends.ts";
import type { TraceOutcome, TracerBackend } from "../../src/trace/types.ts";
import { tempDir } from "../helpers/cli.ts";
import { straceRun } from "../helpers/strace.ts";
import { relativeSorted, traceFacts } from "../helpers/trace-facts.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Scenario, scenarios, setUp, type Tools } from "./scenarios.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/trace");
const CBUILD = resolve(import.meta.dir, "../fixtures/cbuild");
const SIGINT = 2;

let tools: Tools;

function which(cmd: string): string | null {
  const r = Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]);
  return r.exitCode === 0 ? r.stdout.toString().trim() || null : null;
}

function compile(out: string, extra: string[], required = extra.length === 0): boolean {
  const r = Bun.spawnSync(["cc", "-O1", "-pthread", ...extra, "-o", out, join(FIXTURES, "fileops.c")], {
    stderr: "pipe",
  });
  if (r.exitCode !== 0 && required) throw new Error(`cc failed: ${r.stderr.toString()}`);
  return r.exitCode === 0;
}

beforeAll(() => {
  const bin = tempDir("roar-trace-bin-");
  const fileops = join(bin, "fileops");
  compile(fileops, []);
  const fileopsStatic = join(bin, "fileops-static");
  const python = which("python3");
  const fileops32 = join(bin, "fileops32");
  const fileops32Static = join(bin, "fileops32-static");
  tools = {
    fileops,
    fileopsStatic: compile(fileopsStatic, ["-static"]) ? fileopsStatic : null,
    fileops32: compile(fileops32, ["-m32"]) ? fileops32 : null,
    fileops32Static: compile(fileops32Static, ["-m32", "-static"]) ? fileops32Static : null,
    // The real interpreter, not a pyenv shim (a shell script that would add its own file activity).
    python: python
      ? Bun.spawnSync([python, "-c", "import sys; print(sys.executable)"]).stdout.toString().trim() || null
      : null,
    strace: which("strace"),
  };
});

const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

async function runTrace(
  backend: TracerBackend,
  argv: string[],
  cwd: string,
  env: Record<string, string> = baseEnv(),
): Promise<TraceOutcome> {
  const eventsPath = join(tempDir("roar-events-"), "events.bin");
  return await backend.start({ argv, env, cwd, eventsPath }).done;
}

function statNow(path: string): { size: number; mtimeNs: number } | null {
  try {
    const s = statSync(fsPath(path), { bigint: true });
    return { size: Number(s.size), mtimeNs: Number(s.mtimeNs) };
  } catch {
    return null;
  }
}

/** The read/written/deleted sets of a trace, relative to the scenario dir. */
function sets(events: TraceOutcome["events"], dir: string, exact: boolean) {
  const facts = traceFacts(events, exact ? { within: dir, statNow } : { within: dir });
  return {
    read: relativeSorted(facts.read, dir),
    written: relativeSorted(facts.written, dir),
    deleted: relativeSorted(facts.deleted, dir),
    network: [...facts.network].map((n) => n.replace(/:\d+$/, ":*")).sort(),
  };
}

const expectedSets = (s: Scenario) => ({
  read: [...s.read].sort(),
  written: [...s.written].sort(),
  deleted: [...(s.deleted ?? [])].sort(),
  network: [...(s.network ?? [])].sort(),
});

// What each scenario expects is what `strace -f` sees (unless the scenario says why strace cannot tell).
describe("strace reference", () => {
  for (const s of scenarios) {
    test.skipIf(s.reference !== undefined)(s.name, () => {
      if (!tools.strace) return console.warn(`skipped "${s.name}": strace is not installed`);
      const dir = setUp(s);
      const argv = s.argv(tools, dir);
      if (argv === null) return console.warn(`skipped "${s.name}": a tool it needs is missing`);
      const ref = straceRun(tools.strace, argv, join(dir, s.cwd ?? ""), s.env?.() ?? baseEnv());
      expect(sets(ref.events, dir, false)).toEqual(expectedSets(s));
    });
  }
});

for (const backend of Object.values(backends)) {
  describe.skipIf(!backend.probe().usable)(`tracer fidelity: ${backend.name}`, () => {
    for (const s of scenarios) {
      test(s.name, async () => {
        const dir = setUp(s);
        const argv = s.argv(tools, dir);
        if (argv === null) {
          console.warn(`skipped "${s.name}": a tool it needs is missing`);
          return;
        }
        const outcome = await runTrace(backend, argv, join(dir, s.cwd ?? ""), s.env?.() ?? baseEnv());
        expect(outcome.spawnError).toBeNull();
        if (s.signal !== undefined) expect(outcome.signal).toBe(s.signal);
        else expect(outcome.exitCode).toBe(s.exitCode ?? 0);
        if (s.mayBeIncomplete?.includes(backend.name) && outcome.incomplete.length > 0) {
          if (s.incompleteAs) expect([...new Set(outcome.incomplete.map((i) => i.reason))]).toEqual([s.incompleteAs]);
          return;
        }
        expect(outcome.incomplete).toEqual([]);
        expect(sets(outcome.events, dir, true)).toEqual(expectedSets(s));
      });
    }

    test("command not found is a 127 spawn error", async () => {
      const outcome = await runTrace(backend, ["roar-no-such-command-xyz"], tempDir("roar-fidelity-"));
      expect(outcome.spawnError?.code).toBe(127);
      expect(outcome.exitCode).toBeNull();
    });

    test("a non-executable file is a 126 spawn error", async () => {
      const dir = tempDir("roar-fidelity-");
      writeFileSync(join(dir, "script.sh"), "echo hi\n", { mode: 0o644 });
      const outcome = await runTrace(backend, ["./script.sh"], dir);
      expect(outcome.spawnError?.code).toBe(126);
    });

    test("SIGINT forwarded with kill() reaches the traced command", async () => {
      const dir = tempDir("roar-fidelity-");
      const eventsPath = join(tempDir("roar-events-"), "events.bin");
      const running = backend.start({ argv: [tools.fileops, "wait-sigint"], env: baseEnv(), cwd: dir, eventsPath });
      expect(await running.pid).toBeGreaterThan(0);
      expect(await waitFor(() => existsSync(join(dir, "ready.txt")))).toBe(true);
      running.kill("SIGINT");
      const outcome = await running.done;
      expect(outcome.exitCode).toBe(130);
      expect(readFileSync(join(dir, "got-sigint.txt"), "utf8")).toBe("interrupted\n");
    });

    test("an uncaught SIGINT ends the command with that signal", async () => {
      const dir = tempDir("roar-fidelity-");
      // The command says when it runs (traced, past roar's set-up); SIGINT ends sh or the sleep it became alike.
      const running = backend.start({
        argv: ["sh", "-c", "touch ready.txt; exec sleep 30"],
        env: baseEnv(),
        cwd: dir,
        eventsPath: join(tempDir("roar-events-"), "events.bin"),
      });
      await running.pid;
      expect(await waitFor(() => existsSync(join(dir, "ready.txt")))).toBe(true);
      running.kill("SIGINT");
      const outcome = await running.done;
      expect(outcome.signal).toBe(SIGINT);
    });

    test("SIGKILL of the tracing host leaves no stopped or orphaned traced process", async () => {
      const dir = tempDir("roar-fidelity-");
      const host = Bun.spawn(
        [
          process.execPath,
          join(FIXTURES, "trace-host.ts"),
          backend.name,
          join(tempDir("roar-events-"), "events.bin"),
          dir,
          "sh",
          "-c",
          "sleep 30 & sleep 30 & wait",
        ],
        { stdout: "pipe", stderr: "inherit" },
      );
      const reader = host.stdout.getReader();
      let text = "";
      while (!/pid (-?\d+)/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const top = Number(/pid (-?\d+)/.exec(text)?.[1] ?? "0");
      expect(top).toBeGreaterThan(0);
      // Wait until the two sleeps exist, then remember the whole tree.
      const tree = await waitFor(
        () => descendants(top),
        (pids) => pids.length >= 3,
      );
      expect(tree.length).toBeGreaterThanOrEqual(3);
      host.kill("SIGKILL");
      await host.exited;
      const alive = await waitFor(
        () => tree.filter(isAliveNotZombie),
        (pids) => pids.length === 0,
        5_000,
      );
      expect(alive.map((pid) => `${pid}:${procState(pid)}`)).toEqual([]);
    });
  });

  describe.skipIf(!backend.probe().usable)(`tracer vs strace on real commands: ${backend.name}`, () => {
    const realCommands: { name: string; setup: (dir: string) => void; argv: (t: Tools) => string[] | null }[] = [
      {
        name: "tar cf",
        setup: (dir) => makeTree(join(dir, "tree"), 30),
        argv: () => ["tar", "cf", "out.tar", "tree"],
      },
      {
        name: "cp -r",
        setup: (dir) => makeTree(join(dir, "tree"), 30),
        argv: () => ["cp", "-r", "tree", "copy"],
      },
      {
        name: "python3 -m compileall",
        setup: (dir) => {
          mkdirSync(join(dir, "pkg"));
          for (let i = 0; i < 5; i++) writeFileSync(join(dir, "pkg", `m${i}.py`), `X = ${i}\n`);
        },
        argv: (t) => (t.python ? [t.python, "-m", "compileall", "-q", "pkg"] : null),
      },
      {
        name: "make on a tiny C project",
        setup: (dir) => {
          writeFileSync(join(dir, "a.c"), '#include "h.h"\nint main(void) { return f(); }\n');
          writeFileSync(join(dir, "b.c"), '#include "h.h"\nint f(void) { return 0; }\n');
          writeFileSync(join(dir, "h.h"), "int f(void);\n");
          writeFileSync(join(dir, "Makefile"), "prog: a.o b.o\n\tcc -o prog a.o b.o\n%.o: %.c h.h\n\tcc -c -o $@ $<\n");
        },
        argv: () => ["make", "-s"],
      },
      {
        name: "make -j2: a C project with a generated header, a static library and a check run",
        setup: (dir) => cpSync(CBUILD, dir, { recursive: true }),
        argv: () => ["make", "-s", "-j2"],
      },
    ];
    for (const c of realCommands) {
      test(c.name, async () => {
        if (!tools.strace) {
          console.warn(`skipped strace cross-check "${c.name}": strace is not installed`);
          return;
        }
        const argv = c.argv(tools);
        if (!argv) {
          console.warn(`skipped strace cross-check "${c.name}": a tool it needs is missing`);
          return;
        }
        // Two identical dirs: one for strace, one for the tracer (each run changes its dir).
        const refDir = tempDir("roar-xcheck-");
        const dir = tempDir("roar-xcheck-");
        c.setup(refDir);
        c.setup(dir);
        const ref = straceRun(tools.strace, argv, refDir, baseEnv());
        expect(ref.exitCode).toBe(0);
        const refEvents = ref.events;
        const refFacts = traceFacts(refEvents, { within: refDir });
        const outcome = await runTrace(backend, argv, dir);
        expect(outcome.exitCode).toBe(0);
        const facts = traceFacts(outcome.events, { within: dir });
        const rel = (f: ReturnType<typeof traceFacts>, d: string) => ({
          read: relativeSorted(f.read, d),
          written: relativeSorted(f.written, d),
          deleted: relativeSorted(f.deleted, d),
        });
        const expected = rel(refFacts, refDir);
        expect(expected.read.length + expected.written.length).toBeGreaterThan(0);
        expect(rel(facts, dir)).toEqual(expected);
      });
    }
  });
}

function makeTree(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const sub = join(root, `d${i % 4}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
}

/** All processes below `pid` (from /proc/<n>/stat ppid fields), including `pid`. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(entry), Number(fields[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [child, ppid] of parent) if (ppid === out[i] && !out.includes(child)) out.push(child);
  }
  return out.filter((p) => parent.has(p));
}

function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
  } catch {
    return "gone";
  }
}

/** Still running or stopped (a zombie waiting for a non-reaping init counts as gone). */
function isAliveNotZombie(pid: number): boolean {
  const s = procState(pid);
  return s !== "gone" && s !== "Z" && s !== "X";
}

afterAll(() => {
  // temp dirs are removed by test/helpers/cli.ts at exit
});
