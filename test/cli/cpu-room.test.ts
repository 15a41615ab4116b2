/**
 * While the command runs, roar's own threads leave it a CPU (rust/hash/src/cpu_room.rs): every thread of roar
 * but its tracer threads keeps off one of the CPUs roar may use (under ptrace, those keep to that one); the
 * command keeps them all, and under ptrace the room follows it when it moves. The job itself looks: it finds roar
 * among its ancestors and reads each of roar's threads' affinity while it runs.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hermeticEnv, ROAR_BIN, roar, spawnCollect, tempRepo } from "../helpers/cli.ts";

const T = 60_000;

/** Python: `look()`, each of roar's threads with its name and CPUs, seen from the job. */
const ROAR_THREADS = `
import json, os, time
def parent(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("PPid:"):
            return int(line.split()[1])
# roar: the nearest ancestor with threads (a preload supervisor is a one-thread fork of it).
pid = os.getppid()
while pid > 1 and (len(os.listdir(f"/proc/{pid}/task")) < 2 or b"roar" not in open(f"/proc/{pid}/cmdline", "rb").read()):
    pid = parent(pid)
def look():
    threads = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            threads.append({"name": open(f"/proc/{pid}/task/{tid}/comm").read().strip(),
                            "cpus": sorted(os.sched_getaffinity(int(tid)))})
        except OSError:
            pass  # a thread that ended meanwhile
    return threads
`;

/** Writes cpus.json: the job's CPUs, and each of roar's threads with its name and CPUs. */
const LOOK = `${ROAR_THREADS}
json.dump({"job": sorted(os.sched_getaffinity(0)), "roar": look()}, open("cpus.json", "w"))
`;

/**
 * As LOOK, after the job has waited for roar's room (roar's threads but its tracers' off one CPU, the job's), moved
 * itself to another CPU (as the scheduler may move a job) and stayed busy there until roar's room was made there
 * (10 s at most). cpus.json also holds `left` and `other`: the CPU roar left the job first, the one it moved to.
 */
const MOVE_AND_LOOK = `${ROAR_THREADS}
def kept_off(threads):
    confined = [set(t["cpus"]) for t in threads if not t["name"].startswith(("roar-ptrace", "roar-notify"))]
    return sorted(set(os.sched_getaffinity(0)) - set.union(*confined)) if confined else []
deadline = time.time() + 10
threads = look()
while time.time() < deadline and len(kept_off(threads)) != 1:
    time.sleep(0.01)
    threads = look()
left = kept_off(threads)[0]
other = next(c for c in sorted(os.sched_getaffinity(0)) if c != left)
os.sched_setaffinity(0, {other})
while time.time() < deadline and kept_off(threads) != [other]:
    busy = time.time()
    while time.time() - busy < 0.005:
        pass
    threads = look()
json.dump({"job": sorted(os.sched_getaffinity(0)), "roar": threads, "left": left, "other": other}, open("cpus.json", "w"))
`;

interface Seen {
  job: number[];
  roar: { name: string; cpus: number[] }[];
}

const isTracerThread = (name: string) => name.startsWith("roar-ptrace") || name.startsWith("roar-notify");
/** This test process's CPUs (Cpus_allowed_list): what roar started from here may use. */
function allowed(): number[] {
  const line = readFileSync("/proc/self/status", "utf8").match(/^Cpus_allowed_list:\s*(.*)$/m)?.[1] ?? "";
  return line.split(",").flatMap((part) => {
    const [lo, hi] = part.split("-").map(Number) as [number, number | undefined];
    return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
  });
}

async function look(argvBefore: string[], tracer: string, env: Record<string, string> = {}, job = LOOK): Promise<Seen> {
  const repo = tempRepo();
  expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
  const r = await spawnCollect([...argvBefore, ROAR_BIN, "run", "-q", "--tracer", tracer, "python3", "-c", job], {
    cwd: repo,
    env: hermeticEnv(join(repo, ".test-home"), env),
  });
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return JSON.parse(readFileSync(join(repo, "cpus.json"), "utf8")) as Seen;
}

describe("roar's threads leave the command a CPU while it runs", () => {
  const all = allowed();
  for (const tracer of ["auto", "ptrace", "preload"]) {
    test.skipIf(all.length < 2)(
      `${tracer}: the command keeps every CPU; roar's threads keep off one${tracer === "ptrace" ? ", its tracer threads keep to it" : ""}`,
      async () => {
        const seen = await look([], tracer);
        expect(seen.job).toEqual(all);
        const confined = seen.roar.filter((t) => !isTracerThread(t.name));
        expect(confined.length).toBeGreaterThan(0);
        const sets = new Set(confined.map((t) => JSON.stringify(t.cpus)));
        expect(sets.size).toBe(1);
        const set = confined[0]?.cpus ?? [];
        expect(set.length).toBe(all.length - 1);
        expect(set.every((cpu) => all.includes(cpu))).toBe(true);
        const tracers = seen.roar.filter((t) => isTracerThread(t.name));
        if (tracer === "ptrace") {
          // Under ptrace, the tracer's threads (which answer each of the job's calls) keep to the CPU left to it.
          expect(tracers.length).toBeGreaterThan(0);
          for (const t of tracers) expect(t.cpus).toEqual(all.filter((cpu) => !set.includes(cpu)));
        } else for (const t of tracers) expect(t.cpus).toEqual(all);
      },
      T,
    );
  }

  for (const tracer of ["auto", "ptrace", "preload"]) {
    test.skipIf(all.length < 2)(
      `${tracer}: a command that moves to another CPU finds roar's room there within moments${tracer === "ptrace" ? ", its tracer threads with it" : ""}`,
      async () => {
        const seen = (await look([], tracer, {}, MOVE_AND_LOOK)) as Seen & { left: number; other: number };
        expect(seen.other).not.toBe(seen.left);
        expect(seen.job).toEqual([seen.other]);
        const confined = seen.roar.filter((t) => !isTracerThread(t.name));
        expect(confined.length).toBeGreaterThan(0);
        for (const t of confined) expect(t.cpus).toEqual(all.filter((cpu) => cpu !== seen.other));
        const tracers = seen.roar.filter((t) => isTracerThread(t.name));
        if (tracer !== "preload") expect(tracers.length).toBeGreaterThan(0);
        for (const t of tracers) expect(t.cpus).toEqual(tracer === "ptrace" ? [seen.other] : all);
      },
      T,
    );
  }

  test.skipIf(all.length < 2)(
    "ROAR_CPU_ROOM=0 leaves roar's threads every CPU",
    async () => {
      const seen = await look([], "auto", { ROAR_CPU_ROOM: "0" });
      expect(seen.job).toEqual(all);
      for (const t of seen.roar) expect(t.cpus).toEqual(all);
    },
    T,
  );

  test(
    "a caller's taskset holds for roar and the command; with one CPU there is none to leave",
    async () => {
      const first = all[0] ?? 0;
      const seen = await look(["taskset", "-c", String(first)], "auto");
      expect(seen.job).toEqual([first]);
      for (const t of seen.roar) expect(t.cpus).toEqual([first]);
    },
    T,
  );
});
