/**
 * 32-bit programs: their stdout and stderr are never touched (the 64-bit preload library is kept out of their
 * LD_PRELOAD, so their loader prints nothing), their file activity is traced where ptrace runs (it decodes
 * the i386 system calls), and under preload alone the job is flagged `foreign_elf`.
 */
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempDir, tempRepo } from "../helpers/cli.ts";

const tracerAvailable = autoChoice() !== null;
const FIXTURE = resolve(import.meta.dir, "../fixtures/trace/fileops.c");

function build32(): string | null {
  const out = join(tempDir("roar-fileops32-"), "fileops32");
  return Bun.spawnSync(["cc", "-m32", "-O1", "-pthread", "-o", out, FIXTURE]).exitCode === 0 ? out : null;
}
const fileops32 = tracerAvailable ? build32() : null;
if (tracerAvailable && !fileops32)
  console.warn("skipped 32-bit tests: no multilib compiler (apt-get install gcc-multilib)");

describe.skipIf(!fileops32)("32-bit programs", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: the program's output is its own; the job is traced or flagged foreign_elf`, async () => {
      const repo = tempRepo({ "in.txt": "32-bit input\n" });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const program = fileops32 as string;
      // A failing mode: the program's own error line must reach stderr exactly, with nothing before it.
      const bad = await roar(["run", "-q", "--tracer", tracer, program, "no-such-mode"], { cwd: repo });
      expect(bad.code).toBe(2);
      expect(bad.stderr.split("\n")[0]).toBe("fileops: bad mode or arguments: no-such-mode");
      expect(bad.stderr).not.toContain("ld.so");

      const r = await roar(["run", "--json", "--tracer", tracer, "sh", "-c", `${program} copy in.txt out.txt`], {
        cwd: repo,
      });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain("ELF");
      const job = JSON.parse(r.stdout) as ShowJobJson;
      const trace = job.trace as { complete: boolean; reasons: { reason: string; detail: string; pid: number }[] };
      if (tracer === "preload") {
        expect(trace.reasons).toEqual([{ reason: "foreign_elf", detail: program, pid: expect.any(Number) }]);
      } else {
        expect(trace.complete).toBe(true);
        expect(job.inputs.map((i) => i.path)).toEqual(["in.txt"]);
        expect(job.outputs.map((o) => o.path)).toEqual(["out.txt"]);
      }
    }, 60_000);
  }
});
