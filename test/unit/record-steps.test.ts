/** Pieces of the record pipeline: capture sources and their merged facts, cached digests at an open stat, the verdict. */
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CaptureContext, CaptureSource } from "../../src/capture/source.ts";
import { mergeFacts } from "../../src/capture/source.ts";
import { EnvironmentCapture } from "../../src/capture/sources.ts";
import type { PathFacts } from "../../src/core/classify.ts";
import { unknownPath } from "../../src/core/file-facts.ts";
import { DEFAULT_RACY_WINDOW_NS, type HashCacheRow, MemoryHashCache } from "../../src/hash/index.ts";
import { cachedDigestAt, priorContents } from "../../src/run/captures.ts";
import type { OpenStat } from "../../src/schema/events.ts";
import { SqliteHashCache } from "../../src/store/hash-cache.ts";
import { traceVerdict, uncapturedInput } from "../../src/trace/incomplete.ts";
import { incompleteTexts } from "../../src/ui/incomplete.ts";
import { tempDir } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const ctx: CaptureContext = { executables: new Set(), readPaths: [], events: [], tree: null };

describe("capture sources", () => {
  test("facts merge in list order, objects one level deep", () => {
    const merged = mergeFacts([
      { git: { commit: "abc" } },
      { metadata: { packages: { pip: { numpy: "2.0" } }, python: null } },
      { metadata: { packages: { dpkg: { bash: "5" } } } },
      { metadata: { runtime: { hostname: "h" } } },
      { metadata: { runtime: { gpu: [], cuda: null } } },
    ]);
    expect(merged.git).toEqual({ commit: "abc" });
    expect(JSON.stringify(merged.metadata)).toBe(
      JSON.stringify({
        packages: { pip: { numpy: "2.0" }, dpkg: { bash: "5" } },
        python: null,
        runtime: { hostname: "h", gpu: [], cuda: null },
      }),
    );
  });

  test("a source started with the job answers from its start; the others capture after the trace", async () => {
    const calls: string[] = [];
    const probe: CaptureSource = {
      name: "probe",
      start: () => {
        calls.push("start");
        return { fact: Promise.resolve({ metadata: { from: "start" } }), cancel: () => calls.push("cancel") };
      },
      capture: async () => {
        calls.push("capture probe");
        return { metadata: { from: "capture" } };
      },
    };
    const plain: CaptureSource = {
      name: "plain",
      capture: async (c) => ({ metadata: { paths: c.readPaths.length } }),
    };
    const started = new EnvironmentCapture([probe, plain]);
    started.jobStarted();
    started.jobStarted(); // once only
    expect(await started.collect(ctx)).toEqual({ git: {}, metadata: { from: "start", paths: 0 } });
    expect(calls).toEqual(["start"]);

    const never = new EnvironmentCapture([probe, plain]);
    expect((await never.collect(ctx)).metadata.from).toBe("capture");

    const cancelled = new EnvironmentCapture([probe]);
    cancelled.jobStarted();
    cancelled.cancel();
    expect(calls.at(-1)).toBe("cancel");
  });
});

describe("cached digest at an open stat", () => {
  // Nanosecond times beyond 2^53: the tracer's numbers lose their last digits.
  const mtimeNs = 1_700_000_000_123_456_789n;
  const row = (hashedAtNs: bigint): HashCacheRow => ({
    dev: 1n,
    ino: 2n,
    size: 10n,
    mtimeNs,
    ctimeNs: mtimeNs,
    blake3: "b".repeat(64),
    extra: {},
    hashedAtNs,
  });
  const stat = { dev: 1, ino: 2, size: 10, mtimeNs: Number(mtimeNs), ctimeNs: Number(mtimeNs) };

  test("the same identity, hashed long enough after the last change: the cached digest", () => {
    const cache = new MemoryHashCache();
    cache.put(row(mtimeNs + DEFAULT_RACY_WINDOW_NS));
    expect(cachedDigestAt(cache, stat)).toBe("b".repeat(64));
    expect(cachedDigestAt(cache, { ...stat, size: 11 })).toBeNull();
  });

  test("a racy entry is not trusted", () => {
    const cache = new MemoryHashCache();
    cache.put(row(mtimeNs + 1n));
    expect(cachedDigestAt(cache, stat)).toBeNull();
  });
});

describe("prior contents of the files a job changed", () => {
  test("the cache's digests in one lookup, a kept copy hashed, a dev beyond 2^53 looked up alone", async () => {
    const dir = tempDir("roar-priors-");
    const copyName = "c0py";
    writeFileSync(join(dir, copyName), "what the file held\n");
    const db = new Database(":memory:");
    SqliteHashCache.createTable(db);
    const cache = new SqliteHashCache(db);
    const mtimeNs = 1_700_000_000_000_000_000n;
    const vouched = (dev: bigint, ino: bigint, blake3: string): HashCacheRow => ({
      dev,
      ino,
      size: 5n,
      mtimeNs,
      ctimeNs: mtimeNs,
      blake3,
      extra: {},
      hashedAtNs: mtimeNs + DEFAULT_RACY_WINDOW_NS * 2n,
    });
    const bigDev = 2n ** 60n;
    cache.putMany([
      vouched(7n, 1n, "1".repeat(64)),
      vouched(7n, 2n, "2".repeat(64)),
      vouched(bigDev, 3n, "3".repeat(64)),
    ]);
    const at = (dev: number, ino: number, size = 5) => ({
      dev,
      ino,
      size,
      mtimeNs: Number(mtimeNs),
      ctimeNs: Number(mtimeNs),
    });
    const changed = (path: string, stat: OpenStat, copy: string | null = null): PathFacts => ({
      ...unknownPath(path),
      written: true,
      before: { stat, mode: 0o100644, copy },
    });
    const priors = await priorContents(
      [
        changed("/p/a", at(7, 1)),
        changed("/p/b", at(7, 2)),
        changed("/p/stale", at(7, 2, 6)), // the row of its inode is of another size: not vouched for
        changed("/p/big", at(Number(bigDev), 3)),
        changed("/p/copied", at(7, 4, 19), copyName),
        { ...unknownPath("/p/read-only"), read: true },
      ],
      dir,
      cache,
    );
    expect([...priors.keys()]).toEqual(["/p/a", "/p/b", "/p/stale", "/p/big", "/p/copied"]);
    expect([...priors.values()].map((p) => p.blake3)).toEqual([
      "1".repeat(64),
      "2".repeat(64),
      null,
      "3".repeat(64),
      b3sum(join(dir, copyName)),
    ]);
    cache.close();
    db.close();
  });
});

describe("incompleteness", () => {
  test("one verdict: the trace's reasons, then the record's, each once", () => {
    const traced = [{ reason: "no_exit_record", detail: "pid 3", pid: 3 }];
    const verdict = traceVerdict(traced, [uncapturedInput("a.bin"), uncapturedInput("a.bin")]);
    expect(verdict.map((r) => r.reason)).toEqual(["no_exit_record", "input_not_captured"]);
    expect(traceVerdict([])).toEqual([]);
  });

  test("in words, each distinct reason once; a reason stored as text stays as it is", () => {
    const texts = incompleteTexts(
      [
        { reason: "lost_events", detail: "x" },
        { reason: "lost_events", detail: "x" },
        { reason: "io_uring", detail: "" },
        "older text",
      ],
      (t) => t.toUpperCase(),
    );
    expect(texts).toEqual(["lost_events (X)", "io_uring", "older text"]);
  });
});
