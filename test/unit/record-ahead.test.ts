/**
 * The record work queued as a job ends (src/run/record/ahead.ts): the files the job created or rewrote are hashed
 * on the native queue (the digests b3sum gives), files the filters drop are not, and a job with nothing to queue gets no
 * queue at all (the native kernel is not even needed: `roar run true` stays as cheap as before). The change check
 * queued the moment the command ends covers the inputs identified so far; one identified after (the stream's last
 * records) is checked when asked, never taken for unchanged.
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Classification, FileFacts, type PathFacts } from "../../src/core/classify.ts";
import { unknownPath } from "../../src/core/file-facts.ts";
import { loadNativeBlake3 } from "../../src/hash/native.ts";
import { EarlyIdentities } from "../../src/run/early-identities.ts";
import { queueChangeCheck, startAhead } from "../../src/run/record/ahead.ts";
import type { TraceEvent } from "../../src/schema/events.ts";
import { SqliteHashCache } from "../../src/store/hash-cache.ts";
import { expectedPatternBlake3, writePatternFile } from "../fixtures/hash/reference.ts";
import { tempDir } from "../helpers/cli.ts";
import { DEFAULT_FILTERS } from "../helpers/filters.ts";
import { b3sum } from "../helpers/reference.ts";

const FILTERS = DEFAULT_FILTERS;

function facts(path: string, fields: Partial<PathFacts>): PathFacts {
  return { ...unknownPath(path), writers: new Set([1]), ...fields };
}

function classification(files: PathFacts[]): Classification {
  return { files: FileFacts.of(files), processes: [], executables: new Set(), network: [] };
}

const noneIdentified = { identifiedCount: () => 0, checkAhead: () => {}, checkQueued: () => false };

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
  "the files the job created or rewrote are hashed ahead, as b3sum does; a file the filters drop or it only read is not",
  () => {
    const root = tempDir("roar-ahead-");
    const made = join(root, "made.bin");
    const rewritten = join(root, "rewritten.txt");
    const roarOwn = join(root, ".roar", "x");
    const onlyRead = join(root, "read.txt");
    writePatternFile(made, 4096);
    writeFileSync(rewritten, "existed before the job\n");
    writeFileSync(onlyRead, "read by the job\n");
    const ahead = startAhead(
      classification([
        facts(made, { written: true, created: true }),
        facts(rewritten, { written: true, created: false }),
        facts(roarOwn, { written: true, created: true }),
        facts(onlyRead, { read: true }),
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
      expect([...hashed.keys()]).toEqual([made, rewritten]);
      const outcome = hashed.get(made);
      expect(outcome?.ok && outcome.blake3).toBe(expectedPatternBlake3(4096) ?? "");
      expect(outcome?.ok && outcome.stable).toBe(true);
      const again = hashed.get(rewritten);
      expect(again?.ok && again.blake3).toBe(b3sum(rewritten));
    } finally {
      ahead.close();
    }
  },
);

test.skipIf(loadNativeBlake3().kernel === null)(
  "the change check queued when the command ends; an input identified after it is checked when asked",
  () => {
    const root = tempDir("roar-ahead-");
    const [early, late] = [join(root, "early.txt"), join(root, "late.txt")];
    writeFileSync(early, "read early\n");
    writeFileSync(late, "read last\n");
    // A cache that vouches for both files as they are now (hashed, it says, well after their last change).
    const db = new Database(":memory:");
    SqliteHashCache.createTable(db);
    const cache = new SqliteHashCache(db);
    const opens: TraceEvent[] = [early, late].map((path, seq) => {
      const s = statSync(path, { bigint: true });
      cache.put({
        dev: s.dev,
        ino: s.ino,
        size: s.size,
        mtimeNs: s.mtimeNs,
        ctimeNs: s.ctimeNs,
        blake3: "0".repeat(64),
        extra: {},
        hashedAtNs: s.mtimeNs + 10_000_000_000n,
      });
      const stat = {
        dev: Number(s.dev),
        ino: Number(s.ino),
        size: Number(s.size),
        mtimeNs: Number(s.mtimeNs),
        ctimeNs: Number(s.ctimeNs),
      };
      return { kind: "open", pid: 1, seq, ts: seq, path, flags: 0, fd: 3, stat };
    });
    const identities = new EarlyIdentities({ cache, algorithms: [], wanted: () => true });
    identities.observe(opens.slice(0, 1), 0);
    const queue = queueChangeCheck(identities);
    if (!queue) throw new Error("no queue for an identified input");
    try {
      expect(identities.checkQueued()).toBe(true);
      identities.observe(opens, 1); // the last record, read after the command ended
      writeFileSync(late, "changed by someone else after it was read\n");
      const found = [early, late].map((path) => identities.firstOpen(path)?.found);
      if (!found[0] || !found[1]) throw new Error("not identified");
      expect(identities.changedSinceOpen([early, late], [found[0], found[1]])).toEqual([false, true]);
    } finally {
      queue.close();
    }
  },
);
