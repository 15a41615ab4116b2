/**
 * A small real C build (test/fixtures/cbuild: a generated header, a static library, a program and a check that
 * runs it) recorded by `roar build make -j2` under each backend: exactly the outputs `strace -f` sees written
 * (none missing, none spurious), each with the digest b3sum computes, and a complete trace.
 */
import { describe, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";
import { straceRun } from "../helpers/strace.ts";
import { relativeSorted, traceFacts } from "../helpers/trace-facts.ts";

const CBUILD = resolve(import.meta.dir, "../fixtures/cbuild");
const which = (cmd: string) =>
  Bun.spawnSync(["sh", "-c", `command -v ${cmd}`])
    .stdout.toString()
    .trim() || null;
const strace = which("strace");
const usable = autoChoice() !== null && strace !== null && which("make") !== null && which("cc") !== null;

/** What strace -f sees the same build write, relative to its directory. */
function straceOutputs(): string[] {
  const dir = tempDir("roar-cbuild-ref-");
  cpSync(CBUILD, dir, { recursive: true });
  const ref = straceRun(strace as string, ["make", "-s", "-j2"], dir, {
    PATH: process.env.PATH ?? "",
    LANG: "C.UTF-8",
  });
  expect(ref.exitCode).toBe(0);
  return relativeSorted(traceFacts(ref.events, { within: dir }).written, dir);
}

describe.skipIf(!usable)("a small real C build", () => {
  const expected = usable ? straceOutputs() : [];

  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: every output strace sees, no other, with b3sum's digests`, async () => {
      expect(expected).toEqual(expect.arrayContaining(["app", "check.txt", "config.h", "libcalc.a", "main.o"]));
      const repo = tempRepo();
      cpSync(CBUILD, repo, { recursive: true });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "sources");
      const r = await roar(["build", "--json", "--tracer", tracer, "make", "-s", "-j2"], { cwd: repo });
      if (r.code !== 0) throw new Error(`roar build exited ${r.code}: ${r.stderr}`);
      const job = JSON.parse(r.stdout) as ShowJobJson;
      expect((job.trace as { complete: boolean }).complete).toBe(true);
      expect(job.outputs.map((o) => o.path).sort()).toEqual(expected);
      for (const o of job.outputs)
        expect({ path: o.path, blake3: o.blake3 }).toEqual({ path: o.path, blake3: b3sum(join(repo, o.path)) });
      // Sources are code (the commit); the generated header is read by the compiles but made by the same job;
      // the Makefile has no code extension and is data.
      expect(job.inputs.map((i) => i.path)).toEqual(["Makefile"]);
    }, 120_000);
  }
});
