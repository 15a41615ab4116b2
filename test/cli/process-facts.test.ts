/**
 * Per-process facts: each process's exit status is recorded, an output written by a process that was killed
 * (or crashed) is marked as such in `show`, and the network endpoints a job connected to or accepted from are
 * recorded — `show`, the run report and the reproduce plan say such a job is not self-contained.
 */
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { IoFlags } from "../../src/core/io-flags.ts";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;
const FIXTURE = resolve(import.meta.dir, "../fixtures/trace/fileops.c");

function buildFileops(): string {
  const out = join(tempDir("roar-fileops-"), "fileops");
  const r = Bun.spawnSync(["cc", "-O1", "-pthread", "-o", out, FIXTURE], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc failed: ${r.stderr.toString()}`);
  return out;
}

interface ProcessEntry {
  pid: number;
  exe: string | null;
  exitCode: number | null;
  signal: number | null;
}

describe.skipIf(!tracerAvailable)("per-process facts", () => {
  const fileops = tracerAvailable ? buildFileops() : "";

  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: exit statuses per process; an output of a killed process is marked`, async () => {
      const repo = tempRepo();
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const r = await roar(
        ["run", "--tracer", tracer, "sh", "-c", `${fileops} die-by-signal cut.txt; echo done > ok.txt`],
        {
          cwd: repo,
        },
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("1 output(s) written by a process that was killed or crashed");
      const shown = await roar(["show", "@1", "--json"], { cwd: repo });
      const job = JSON.parse(shown.stdout) as ShowJobJson;
      const outputs = Object.fromEntries(job.outputs.map((o) => [o.path, o]));
      expect(outputs["cut.txt"]?.writerKilled).toBe(true);
      expect((outputs["cut.txt"]?.flags ?? 0) & IoFlags.WRITER_KILLED).toBe(IoFlags.WRITER_KILLED);
      expect(outputs["ok.txt"]?.writerKilled).toBeUndefined();
      const processes = (job.trace as { processList: ProcessEntry[] }).processList;
      expect(processes.find((p) => p.exe === fileops)).toMatchObject({ exitCode: null, signal: 15 });
      expect(processes.filter((p) => p.signal === null).every((p) => p.exitCode === 0)).toBe(true);

      const show = await roar(["show", "@1"], { cwd: repo });
      expect(show.stdout).toContain("written by a process that was killed or crashed");
      expect(show.stdout).toMatch(new RegExp(`Killed: +pid \\d+ ${fileops}: signal 15`));
    }, 60_000);

    test(`${tracer}: network endpoints are recorded; show and the reproduce plan say "not self-contained"`, async () => {
      const repo = tempRepo();
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const r = await roar(["run", "--json", "--tracer", tracer, fileops, "net", "got.txt", "inet", "libc"], {
        cwd: repo,
      });
      expect(r.code).toBe(0);
      const job = JSON.parse(r.stdout) as ShowJobJson;
      const network = (job.trace as { network: { op: string; address: string }[] }).network;
      expect(network.map((n) => `${n.op} ${n.address.replace(/:\d+$/, ":*")}`).sort()).toEqual([
        "accept 127.0.0.1:*",
        "connect 127.0.0.1:*",
      ]);
      const show = await roar(["show", "@1"], { cwd: repo });
      expect(show.stdout).toMatch(
        /Network: +connected to 127\.0\.0\.1:\d+; accepted from 127\.0\.0\.1:\d+ \(not self-contained\)/,
      );
      const plan = await roar(["reproduce", b3sum(join(repo, "got.txt"))], { cwd: repo });
      expect(plan.stdout).toMatch(
        /used the network \(connected to 127\.0\.0\.1:\d+; accepted from .*\): not self-contained/,
      );
      const planJson = await roar(["reproduce", b3sum(join(repo, "got.txt")), "--json"], { cwd: repo });
      const steps = (JSON.parse(planJson.stdout) as { plan: { steps: { network?: unknown[] }[] } }).plan.steps;
      expect(steps[0]?.network).toHaveLength(2);
    }, 60_000);
  }
});
