/**
 * Preload-specific behaviour (the shared scenarios live in fidelity.test.ts): batching under many processes,
 * coverage of children with a cleared environment, what preload cannot see being flagged, records of
 * processes killed by a signal, the execl* trampolines, and kill safety when roar itself is SIGKILLed.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TraceEventOf } from "../../src/schema/events.ts";
import { preloadBackend } from "../../src/trace/preload.ts";
import { makeSpool, preloadEnv } from "../../src/trace/preload-files.ts";
import type { TraceOutcome } from "../../src/trace/types.ts";
import { tempDir } from "../helpers/cli.ts";
import { relativeSorted, traceFacts } from "../helpers/trace-facts.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/preload");
const usable = preloadBackend.probe().usable;
const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

async function trace(argv: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<TraceOutcome> {
  const eventsPath = join(tempDir("roar-preload-events-"), "events.bin");
  return await preloadBackend.start({ argv, env: { ...env(), ...extraEnv }, cwd, eventsPath }).done;
}

function opens(o: TraceOutcome): TraceEventOf<"open">[] {
  return o.events.filter((e): e is TraceEventOf<"open"> => e.kind === "open");
}

function written(o: TraceOutcome, dir: string): string[] {
  return relativeSorted(traceFacts(o.events, { within: dir }).written, dir);
}

function _procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
  } catch {
    return "gone";
  }
}

let execl: string | null = null;
let staticBin: string | null = null;

beforeAll(() => {
  const bin = tempDir("roar-preload-bin-");
  const cc = (out: string, src: string, extra: string[] = []) =>
    Bun.spawnSync(["cc", "-O1", ...extra, "-o", out, src], { stderr: "pipe" }).exitCode === 0 ? out : null;
  execl = cc(join(bin, "execl"), join(FIXTURES, "execl.c"));
  const hello = join(bin, "hello.c");
  writeFileSync(
    hello,
    '#include <stdio.h>\nint main(void){FILE*f=fopen("static-out.txt","w");fputs("x",f);return 0;}\n',
  );
  staticBin = cc(join(bin, "hello-static"), hello, ["-static"]);
});

describe.skipIf(!usable)("preload tracer", () => {
  test("a read whose stat waits for the program's fstat still gets the stat from before the same process truncates the file", async () => {
    const dir = tempDir("roar-preload-order-");
    writeFileSync(join(dir, "x.txt"), "original content\n");
    const before = statSync(join(dir, "x.txt"));
    // os.open / os.read make no fstat: the read's record is still pending when the O_TRUNC open comes.
    const script = [
      "import os",
      "fd = os.open('x.txt', os.O_RDONLY)",
      "data = os.read(fd, 100)",
      "w = os.open('x.txt', os.O_WRONLY | os.O_TRUNC)",
      "os.write(w, b'new')",
      "os.close(w)",
      "os.close(fd)",
    ].join("\n");
    const o = await trace(["python3", "-c", script], dir);
    expect(o.exitCode).toBe(0);
    const x = opens(o).filter((e) => e.path === join(dir, "x.txt"));
    expect(x.map((e) => (e.flags & 3) === 0)).toEqual([true, false]);
    expect(x[0]?.stat).toMatchObject({ ino: before.ino, size: before.size });
    expect(readFileSync(join(dir, "x.txt"), "utf8")).toBe("new");
  });

  test("tar of 3,000 files: reads through many buffer refills each carry the stat tar itself took", async () => {
    const dir = tempDir("roar-preload-tar-");
    for (let d = 0; d < 6; d++) {
      mkdirSync(join(dir, "tree", `d${d}`), { recursive: true });
      for (let f = 0; f < 500; f++) writeFileSync(join(dir, "tree", `d${d}`, `f${f}.txt`), `${d}/${f}\n`);
    }
    const o = await trace(["tar", "cf", "out.tar", "tree"], dir);
    expect(o.exitCode).toBe(0);
    const reads = opens(o).filter((e) => e.path.startsWith(join(dir, "tree/")));
    expect(reads.length).toBe(3000);
    expect(new Set(reads.map((e) => e.path)).size).toBe(3000);
    for (const e of reads) {
      const st = statSync(e.path, { bigint: true });
      expect(e.stat).toEqual({
        dev: Number(st.dev),
        ino: Number(st.ino),
        size: Number(st.size),
        mtimeNs: Number(st.mtimeNs),
        ctimeNs: Number(st.ctimeNs),
      });
    }
    expect(written(o, dir)).toEqual(["out.tar"]);
  });

  test("50 concurrent shell children: every write recorded exactly once", async () => {
    const dir = tempDir("roar-preload-batch-");
    const script = "for c in $(seq 1 50); do (for f in $(seq 1 20); do echo $c > out-$c-$f.txt; done) & done; wait";
    const o = await trace(["sh", "-c", script], dir);
    expect(o.exitCode).toBe(0);
    expect(o.incomplete).toEqual([]);
    const paths = opens(o)
      .map((e) => e.path)
      .filter((p) => p.startsWith(`${dir}/out-`));
    expect(paths.length).toBe(1000);
    expect(new Set(paths).size).toBe(1000);
  });

  test("a traced process maps the library and what the program needs, nothing else (no libgcc_s)", async () => {
    // libgcc_s (std's unwinder) would add its own start-up to every process of the job: ~0.1 ms each.
    const dir = tempDir("roar-preload-maps-");
    const bare = Bun.spawnSync(["cat", "/proc/self/maps"], { env: env() }).stdout.toString();
    const o = await trace(["sh", "-c", "cat /proc/self/maps > maps.txt"], dir);
    expect(o.exitCode).toBe(0);
    const libraries = (maps: string) =>
      new Set(
        maps
          .split("\n")
          .map((line) => line.split(/\s+/)[5] ?? "")
          .filter((path) => path.includes(".so"))
          .map((path) => path.slice(path.lastIndexOf("/") + 1)),
      );
    const traced = libraries(readFileSync(join(dir, "maps.txt"), "utf8"));
    const added = [...traced].filter((name) => !libraries(bare).has(name));
    expect(added).toEqual(["libroar_preload.so"]);
  });

  test("one process with more records than its buffer holds: all flushed, in order", async () => {
    const dir = tempDir("roar-preload-flush-");
    const o = await trace(["sh", "-c", "i=0; while [ $i -lt 3000 ]; do : > f$i; i=$((i+1)); done"], dir);
    expect(o.exitCode).toBe(0);
    expect(o.incomplete).toEqual([]);
    const mine = opens(o).filter((e) => e.path.startsWith(`${dir}/f`));
    expect(mine.length).toBe(3000);
    expect(new Set(mine.map((e) => e.path)).size).toBe(3000);
    const seqs = mine.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  test("a child started with env -i stays traced (LD_PRELOAD re-inserted)", async () => {
    const dir = tempDir("roar-preload-envi-");
    writeFileSync(join(dir, "in.txt"), "x\n");
    const o = await trace(["env", "-i", "/bin/sh", "-c", "cat in.txt > out.txt; env > env.txt"], dir);
    expect(o.exitCode).toBe(0);
    expect(o.incomplete).toEqual([]);
    expect(written(o, dir)).toEqual(["env.txt", "out.txt"]);
    expect(readFileSync(join(dir, "env.txt"), "utf8")).toContain("LD_PRELOAD=");
  });

  test("a program closing every descriptor still gets its records delivered", async () => {
    const dir = tempDir("roar-preload-closefds-");
    const py = "import os\nos.closerange(3, 65536)\nopen('after.txt', 'w').write('y')";
    const o = await trace(["python3", "-S", "-c", py], dir);
    expect(o.exitCode).toBe(0);
    expect(o.incomplete).toEqual([]);
    expect(written(o, dir)).toEqual(["after.txt"]);
  });

  test("openat(dirfd) paths stay right when glibc reuses directory descriptors (closedir)", async () => {
    // tar walks with fdopendir/openat/closedir; closedir closes inside glibc where no hook sees it
    const dir = tempDir("roar-preload-dirfd-");
    const expected: string[] = [];
    for (let d = 0; d < 6; d++) {
      mkdirSync(join(dir, "tree", `d${d}`), { recursive: true });
      for (let f = 0; f < 5; f++) {
        writeFileSync(join(dir, "tree", `d${d}`, `f${f}.txt`), `${d}${f}`);
        expected.push(`tree/d${d}/f${f}.txt`);
      }
    }
    const o = await trace(["tar", "cf", "out.tar", "tree"], dir);
    expect(o.exitCode).toBe(0);
    expect(relativeSorted(traceFacts(o.events, { within: dir }).read, dir)).toEqual(expected.sort());
  });

  test("a static binary is flagged static_binary", async () => {
    if (!staticBin) return console.warn("skipped: cc -static unavailable");
    const dir = tempDir("roar-preload-static-");
    const o = await trace(["sh", "-c", `${staticBin}; true`], dir);
    expect(o.exitCode).toBe(0);
    expect(o.incomplete.map((i) => i.reason)).toContain("static_binary");
    // and as the top command (inspected by the supervisor before exec)
    const top = await trace([staticBin], dir);
    expect(top.incomplete.map((i) => i.reason)).toContain("static_binary");
  });

  test("bun (does its own system calls) is flagged libc_bypass", async () => {
    const dir = tempDir("roar-preload-bun-");
    const code = "require('fs').writeFileSync('from-bun.txt', 'x')";
    const o = await trace(["sh", "-c", `"${process.execPath}" -e "${code}"`], dir);
    expect(o.exitCode).toBe(0);
    expect(readFileSync(join(dir, "from-bun.txt"), "utf8")).toBe("x");
    expect(o.incomplete.map((i) => i.reason)).toContain("libc_bypass");
  });

  test("records of a process killed by SIGKILL are recovered and its exit is recorded by its reaper", async () => {
    const dir = tempDir("roar-preload-killed-");
    const o = await trace(["sh", "-c", 'sh -c "echo a > a.txt; kill -9 \\$\\$"; echo b > b.txt; kill -9 $$'], dir);
    expect(o.signal).toBe(9);
    expect(o.incomplete).toEqual([]);
    expect(written(o, dir)).toEqual(["a.txt", "b.txt"]);
    const killed = o.events.filter((e) => e.kind === "exit" && e.signal === 9);
    expect(killed.length).toBe(2);
  });

  test("a killed process keeps its spool slot: its records are recovered after a hundred processes ran since", async () => {
    const dir = tempDir("roar-preload-killed-kept-");
    const script = 'sh -c "echo a > a.txt; kill -9 \\$\\$"; for i in $(seq 100); do /bin/true; done; echo b > b.txt';
    const o = await trace(["sh", "-c", script], dir);
    expect(o.exitCode).toBe(0);
    expect(written(o, dir)).toEqual(["a.txt", "b.txt"]);
  });

  test("200 processes at once, half of them SIGKILLed while their records wait in their slots: every write recovered", async () => {
    // More processes alive at once than one word of the slots' bitmap holds (64: they wait for `go`), each killed
    // one keeping its slot. The write is buffered when the kill comes: just after a fork (/bin/true, which flushes
    // and restarts the buffer's age), with no fork between (`kill` and $BASHPID are bash's own).
    const dir = tempDir("roar-preload-killed-many-");
    const script =
      "for c in $(seq 1 200); do (while [ ! -e go ]; do sleep 0.05; done; /bin/true; echo $c > out-$c.txt; if [ $((c % 2)) = 0 ]; then kill -9 $BASHPID; fi; echo done > fin-$c.txt) & done; : > go; wait";
    const o = await trace(["bash", "-c", script], dir);
    expect(o.exitCode).toBe(0);
    const paths = opens(o).map((e) => e.path);
    expect(new Set(paths.filter((p) => p.startsWith(`${dir}/out-`))).size).toBe(200);
    expect(new Set(paths.filter((p) => p.startsWith(`${dir}/fin-`))).size).toBe(100);
  });

  test("processes run one after another share a few spool slots, each given back at its exit or exec", () => {
    const dir = tempDir("roar-preload-slots-");
    const spool = join(dir, "spool");
    makeSpool(spool);
    const library = preloadBackend.probe().library as string;
    const jobEnv = preloadEnv(env(), library, join(dir, "events.bin"), spool);
    const run = Bun.spawnSync(["sh", "-c", "for i in $(seq 100); do /bin/true; done"], {
      cwd: dir,
      env: Object.fromEntries(jobEnv.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
    });
    expect(run.exitCode).toBe(0);
    // The slots' header (rust/crates/roar-preload/src/state.rs): bitmaps of the slots lent (at 512) and allocated
    // (at 2304), 224 words each.
    const header = readFileSync(join(spool, "slots")).subarray(0, 4096);
    const bits = (at: number) => {
      let n = 0;
      for (let i = at; i < at + 224 * 8; i++) for (let b = header[i] as number; b; b &= b - 1) n++;
      return n;
    };
    expect(bits(512)).toBe(0); // all given back
    expect(bits(2304)).toBeGreaterThan(0);
    expect(bits(2304)).toBeLessThanOrEqual(3); // 201 processes and images, 2 slots (the shell's, its children's)
  });

  test("execl / execle / execlp pass their variadic arguments and environment through", async () => {
    if (!execl) return console.warn("skipped: cc unavailable");
    const dir = tempDir("roar-preload-execl-");
    for (const mode of ["execl", "execlp-many", "execle-env"]) {
      const o = await trace([execl, mode], dir);
      expect(o.exitCode).toBe(0);
      expect(o.incomplete).toEqual([]);
    }
    expect(readFileSync(join(dir, "out-execl.txt"), "utf8")).toBe("execl\n");
    expect(readFileSync(join(dir, "out-many.txt"), "utf8")).toBe("123456789\n");
    // execle's environment was kept (A) and the preload re-inserted into it (the write was seen)
    expect(readFileSync(join(dir, "out-execle.txt"), "utf8")).toBe("from-execle\n");
    const o = await trace([execl, "execle-env"], dir);
    expect(written(o, dir)).toEqual(["out-execle.txt"]);
  });

  test("the command runs in roar's process group (a terminal Ctrl-C reaches it)", async () => {
    const dir = tempDir("roar-preload-pgrp-");
    const running = preloadBackend.start({
      argv: ["sleep", "5"],
      env: env(),
      cwd: dir,
      eventsPath: join(tempDir("roar-preload-events-"), "events.bin"),
    });
    const pid = await running.pid;
    const pgrp = (p: number | string) => {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      return s.slice(s.lastIndexOf(")") + 2).split(" ")[2];
    };
    expect(pgrp(pid)).toBe(pgrp("self"));
    running.kill("SIGTERM");
    expect((await running.done).signal).toBe(15);
  });
});
