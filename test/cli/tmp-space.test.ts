/**
 * roar's own temporary space ($TMPDIR: event streams, preload spool pages) never changes the traced command's
 * behaviour: a (nearly) full $TMPDIR is refused before the command starts (exit 125), and a $TMPDIR the job
 * itself fills up leaves the command running normally (no SIGBUS from a spool page) with a record that is
 * either whole or marked incomplete — never "complete" with lost files. Uses small tmpfs mounts (root only).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempDir, tempRepo } from "../helpers/cli.ts";

const mounts: string[] = [];

/** A fresh tmpfs of `size` (e.g. "4m"), or null when this user cannot mount. */
function tmpfs(size: string): string | null {
  const dir = tempDir("roar-tmpfs-");
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size},mode=1777`, "tmpfs", dir]);
  if (r.exitCode !== 0) return null;
  mounts.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of mounts) Bun.spawnSync(["umount", "-l", dir]);
});

const canMount = process.getuid?.() === 0 && autoChoice() !== null;

/**
 * Fills $TMPDIR up to the last byte (the file stays until the end), then writes 20 files of the project. Unbuffered
 * writes: a buffered file keeps what its failing write could not place and fails again when closed (the script,
 * not roar, then failed — whenever the free space did not end on a 64 KiB boundary).
 */
const FILL_PY = `import os, errno
fill = os.path.join(os.environ["TMPDIR"], "filler")
fd = os.open(fill, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
try:
    while True:
        os.write(fd, b"x" * 65536)
except OSError as e:
    assert e.errno == errno.ENOSPC, e
os.close(fd)
os.makedirs("out", exist_ok=True)
for i in range(20):
    with open(f"out/{i}.txt", "w") as f:
        f.write(f"file {i}\\n")
print("done")
`;

describe.skipIf(!canMount)("a full $TMPDIR", () => {
  test("nearly full before the run: refused with 125 before the command starts; nothing recorded", async () => {
    const small = tmpfs("4m");
    if (!small) throw new Error("mount failed");
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "init");
    const r = await roar(["run", "touch", "ran.txt"], { cwd: repo, env: { TMPDIR: small } });
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("not enough free space in the temporary directory");
    expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
    expect(existsSync(join(repo, "ran.txt"))).toBe(false);
    const log = await roar(["log", "--json"], { cwd: repo });
    expect(JSON.parse(log.stdout).jobs).toEqual([]);
  });

  for (const tracer of ["preload", "ptrace", "hybrid"]) {
    test(`${tracer}: a job that fills $TMPDIR runs normally; its record is whole or marked incomplete`, async () => {
      const space = tmpfs("24m");
      if (!space) throw new Error("mount failed");
      const repo = tempRepo({ "fill.py": FILL_PY, ".gitignore": ".test-home/\nout/\n" });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const r = await roar(["run", "--json", "--tracer", tracer, "python3", "fill.py"], {
        cwd: repo,
        env: { TMPDIR: space },
      });
      // The command itself is unaffected: no SIGBUS, its output, its exit code (roar's stderr shown if not).
      expect({ output: r.stdout.slice(0, 5), code: r.code, stderr: r.stderr.slice(0, 2000) }).toMatchObject({
        output: "done\n",
        code: 0,
      });
      expect(readdirSync(join(repo, "out")).length).toBe(20);
      const job = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as ShowJobJson & {
        trace: { complete: boolean; reasons: { reason: string }[] };
      };
      expect(job.exitCode).toBe(0);
      const recorded = job.outputs.filter((o) => o.path.startsWith("out/")).length;
      if (job.trace.complete) expect(recorded).toBe(20);
      else expect(job.trace.reasons.map((x) => x.reason)).toContain("lost_events");
    }, 60_000);
  }
});
