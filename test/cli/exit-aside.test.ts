/**
 * roar's exit leaves the freeing of its memory to a helper (rust/hash/src/exit_aside.rs): the helper shares roar's
 * memory, waits for roar to be gone, and exits. Seen from a subreaper (the adopter of roar's orphans): exactly one
 * orphan, which ends on its own, while roar's output and exit code are roar's. ROAR_EXIT_ASIDE=1 starts it
 * whatever the memory and init; =0 never; unset, only past 32 MB resident and where init reaps.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hermeticEnv, ROAR_BIN, roar, spawnCollect, tempRepo } from "../helpers/cli.ts";

const T = 60_000;

/** Runs roar as a subreaper's child; prints roar's exit code and output, then each orphan it adopted. */
const SUBREAPER = `
import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
adopted, deadline = [], time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        pid, status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        time.sleep(0.01)
        continue
    adopted.append({"exitCode": os.waitstatus_to_exitcode(status)})
print(json.dumps({"code": r.returncode, "stdout": r.stdout.decode(), "stderr": r.stderr.decode(), "adopted": adopted}))
`;

interface Seen {
  code: number;
  stdout: string;
  stderr: string;
  adopted: { exitCode: number }[];
}

async function underSubreaper(repo: string, args: string[], env: Record<string, string>): Promise<Seen> {
  const r = await spawnCollect(["python3", "-c", SUBREAPER, ROAR_BIN, ...args], {
    cwd: repo,
    env: hermeticEnv(join(repo, ".test-home"), env),
  });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Seen;
}

/** Whether init reaps orphans, as roar tells it: SIGCHLD caught, ignored, or blocked by one of its threads. */
function initReaps(): boolean {
  const sigchld = 1n << 16n;
  const masks = (status: string, names: string[]) =>
    names.map((name) => BigInt(`0x${status.match(new RegExp(`^${name}:\\s*([0-9a-f]+)`, "m"))?.[1] ?? "0"}`));
  try {
    const init = readFileSync("/proc/1/status", "utf8");
    if (masks(init, ["SigCgt", "SigIgn", "SigBlk"]).some((m) => (m & sigchld) !== 0n)) return true;
    return readdirSync("/proc/1/task").some((task) => {
      const [blocked] = masks(readFileSync(`/proc/1/task/${task}/status`, "utf8"), ["SigBlk"]);
      return ((blocked ?? 0n) & sigchld) !== 0n;
    });
  } catch {
    return false;
  }
}

describe("roar's exit leaves freeing its memory to a helper", () => {
  test(
    "ROAR_EXIT_ASIDE=1: one helper, adopted once roar is gone, ends by itself; roar's exit code and output unchanged",
    async () => {
      const repo = tempRepo();
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      const seen = await underSubreaper(repo, ["run", "sh", "-c", "echo from-the-job; exit 3"], {
        ROAR_EXIT_ASIDE: "1",
      });
      expect(seen.code).toBe(3);
      expect(seen.stdout).toBe("from-the-job\n");
      expect(seen.adopted).toEqual([{ exitCode: 0 }]);
      // The job was recorded, and the store is whole.
      const log = await roar(["log"], { cwd: repo });
      expect(log.code).toBe(0);
      expect(log.stdout).toContain("from-the-job");
    },
    T,
  );

  test(
    "ROAR_EXIT_ASIDE=0: no helper",
    async () => {
      const repo = tempRepo();
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      const seen = await underSubreaper(repo, ["run", "-q", "true"], { ROAR_EXIT_ASIDE: "0" });
      expect(seen.code).toBe(0);
      expect(seen.adopted).toEqual([]);
    },
    T,
  );

  test(
    "by default, a helper where init reaps orphans (roar run true holds more than 32 MB), none where it does not",
    async () => {
      const repo = tempRepo();
      expect((await roar(["init", "-y"], { cwd: repo })).code).toBe(0);
      const seen = await underSubreaper(repo, ["run", "-q", "true"], {});
      expect(seen.code).toBe(0);
      expect(seen.adopted).toEqual(initReaps() ? [{ exitCode: 0 }] : []);
    },
    T,
  );
});
