/**
 * The record work queued as a job ends (src/run/record/ahead.ts): the files the job created are hashed on the
 * native queue (the digests b3sum gives), files the filters drop are not, and a job with nothing to queue gets no
 * queue at all (the native kernel is not even needed: `roar run true` stays as cheap as before).
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Classification, PathFacts } from "../../src/core/classify.ts";
import { unknownPath } from "../../src/core/file-facts.ts";
import { loadNativeBlake3 } from "../../src/hash/native.ts";
import { startAhead } from "../../src/run/record/ahead.ts";
import { expectedPatternBlake3, writePatternFile } from "../fixtures/hash/reference.ts";
import { tempDir } from "../helpers/cli.ts";
import { DEFAULT_FILTERS } from "../helpers/filters.ts";

const FILTERS = DEFAULT_FILTERS;

function facts(path: string, fields: Partial<PathFacts>): PathFacts {
  return { ...unknownPath(path), writers: new Set([1]), ...fields };
}

function classification(files: PathFacts[]): Classification {
  return { files: new Map(files.map((f) => [f.path, f])), processes: [], executables: new Set(), network: [] };
}

const noneIdentified = { identifiedCount: () => 0, checkAhead: () => {} };

test("a job that identified no input and created no file gets no queue", () => {
  const root = tempDir("roar-ahead-");
  const read = facts(join(root, "in.txt"), { read: true });
  const ahead = startAhead(classification([read]), {
    early: noneIdentified,
    hashOutputs: true,
    filters: FILTERS,
    scope: { projectRoot: root, roarDir: join(root, ".roar"), privatePaths: new Set() },
  });
  expect(ahead).toBeNull();
});

test.skipIf(loadNativeBlake3().kernel === null)(
  "the files the job created are hashed ahead, as b3sum does; a file the filters drop or one it did not create is not",
  () => {
    const root = tempDir("roar-ahead-");
    const made = join(root, "made.bin");
    const rewritten = join(root, "rewritten.txt");
    const roarOwn = join(root, ".roar", "x");
    writePatternFile(made, 4096);
    writeFileSync(rewritten, "existed before the job\n");
    const ahead = startAhead(
      classification([
        facts(made, { written: true, created: true }),
        facts(rewritten, { written: true, created: false }),
        facts(roarOwn, { written: true, created: true }),
      ]),
      {
        early: noneIdentified,
        hashOutputs: true,
        filters: FILTERS,
        scope: { projectRoot: root, roarDir: join(root, ".roar"), privatePaths: new Set() },
      },
    );
    if (!ahead) throw new Error("no queue for a created file");
    try {
      const hashed = ahead.hashedOutputs();
      expect([...hashed.keys()]).toEqual([made]);
      const outcome = hashed.get(made);
      expect(outcome?.ok && outcome.blake3).toBe(expectedPatternBlake3(4096) ?? "");
      expect(outcome?.ok && outcome.stable).toBe(true);
    } finally {
      ahead.close();
    }
  },
);
