/**
 * Pre-write captures on every backend: a file the job reads and then rewrites is an input with the content from
 * before its first write (not only when the hash cache happens to know it); a file that existed before the
 * job — even an empty one opened with O_CREAT — is never taken for one the job created.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IoFlags } from "../../src/core/io-flags.ts";
import type { ShowJobJson } from "../../src/schema/show.ts";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, roar, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const tracerAvailable = autoChoice() !== null;

async function runJson(repo: string, tracer: string, argv: string[]): Promise<ShowJobJson> {
  const r = await roar(["run", "--json", "--tracer", tracer, ...argv], { cwd: repo });
  if (r.code !== 0) throw new Error(`roar run exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{"schemaVersion"'))) as ShowJobJson;
}

describe.skipIf(!tracerAvailable)("pre-write captures", () => {
  for (const tracer of ["ptrace", "preload", "hybrid"]) {
    test(`${tracer}: read then rewritten in one job — the input is the content before the write`, async () => {
      const repo = tempRepo({
        "e.txt": "committed content\n",
        "rw.py": "s = open('e.txt').read()\nopen('e.txt', 'w').write(s + 'x')\n",
      });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const before = b3sum(join(repo, "e.txt"));
      const job = await runJson(repo, tracer, ["python3", "rw.py"]);
      expect(job.inputs.map((i) => [i.path, i.blake3])).toEqual([["e.txt", before]]);
      expect(job.outputs.map((o) => [o.path, o.blake3])).toEqual([["e.txt", b3sum(join(repo, "e.txt"))]]);
      expect((job.trace as { complete: boolean }).complete).toBe(true);
    }, 60_000);

    test(`${tracer}: read, then replaced by a rename in another process — the input is the old content`, async () => {
      const repo = tempRepo({ "data.csv": "a,b\n1,2\n" });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const before = b3sum(join(repo, "data.csv"));
      const job = await runJson(repo, tracer, ["sh", "-c", "sort data.csv > data.tmp && mv data.tmp data.csv"]);
      expect(job.inputs.map((i) => [i.path, i.blake3])).toEqual([["data.csv", before]]);
      expect(job.outputs.map((o) => o.path)).toEqual(["data.csv"]);
    }, 60_000);

    test(`${tracer}: read by a relative path, rewritten by another process from another directory — the input is the content before`, async () => {
      // The read filter marks a path opened relative to the cwd by hashing its bytes onto the cwd's hash; the
      // writer asks by the path it resolved from elsewhere: the same file must be found read.
      const repo = tempRepo({ "data.txt": "before\n" });
      mkdirSync(join(repo, "sub"));
      writeFileSync(join(repo, "sub/keep"), "");
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const before = b3sum(join(repo, "data.txt"));
      const job = await runJson(repo, tracer, [
        "sh",
        "-c",
        "cat data.txt > /dev/null; cd sub && printf after > ../data.txt",
      ]);
      expect(job.inputs.map((i) => [i.path, i.blake3])).toEqual([["data.txt", before]]);
      expect(job.outputs.map((o) => [o.path, o.blake3])).toEqual([["data.txt", b3sum(join(repo, "data.txt"))]]);
    }, 60_000);

    test(`${tracer}: O_CREAT on an existing empty file — it existed, the job did not create it`, async () => {
      const repo = tempRepo({
        "empty.txt": "",
        "touch.py":
          "import os\nos.close(os.open('empty.txt', os.O_RDWR | os.O_CREAT))\nopen('new.txt','w').write('n')\n",
      });
      await roar(["init", "-y"], { cwd: repo });
      commitAll(repo, "init");
      const job = await runJson(repo, tracer, ["python3", "touch.py"]);
      const flags = new Map(job.outputs.map((o) => [o.path, o.flags]));
      expect((flags.get("new.txt") ?? 0) & IoFlags.CREATED).toBe(IoFlags.CREATED);
      // empty.txt is unchanged (not an output), or an output that existed before — never "created"
      expect((flags.get("empty.txt") ?? 0) & IoFlags.CREATED).toBe(0);
    }, 60_000);
  }
});
