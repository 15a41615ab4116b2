/** Pieces of the record pipeline: capture sources and their merged facts, cached digests at an open stat, the verdict. */
import { describe, expect, test } from "bun:test";
import type { CaptureContext, CaptureSource } from "../../src/capture/source.ts";
import { mergeFacts } from "../../src/capture/source.ts";
import { EnvironmentCapture } from "../../src/capture/sources.ts";
import { DEFAULT_RACY_WINDOW_NS, type HashCacheRow, MemoryHashCache } from "../../src/hash/index.ts";
import { cachedDigestAt } from "../../src/run/captures.ts";
import { traceVerdict, uncapturedInput } from "../../src/trace/incomplete.ts";
import { incompleteTexts } from "../../src/ui/incomplete.ts";

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
