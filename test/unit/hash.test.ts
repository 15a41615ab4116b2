/**
 * BLAKE3 correctness on every hashing path (wasm in-thread, worker pool with wasm, native in-thread, worker
 * pool with native) against the official test vectors and b3sum (without b3sum: the suite's reference
 * implementation, checked against the vectors here), plus the extra algorithms against coreutils.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEngine, type FileHashOutcome, type HashEngine, hashFileSync, identityOf } from "../../src/hash/file.ts";
import { close, type FileDigest, hashBytes, hashFile, hashFiles, isHashError } from "../../src/hash/index.ts";
import { ChangeCheckList, loadNativeBlake3 } from "../../src/hash/native.ts";
import { loadWasmBlake3, WASM_MAX_UPDATE } from "../../src/hash/wasm.ts";
import { fsPath } from "../../src/shared/paths.ts";
import { blake3Reference } from "../fixtures/hash/blake3-reference.ts";
import {
  BLAKE3_REFERENCE,
  expectedPatternBlake3,
  HAVE_B3SUM,
  MIB,
  OFFICIAL_VECTORS,
  patternBytes,
  toolDigests,
  VECTOR_LENGTHS,
  writePatternFile,
} from "../fixtures/hash/reference.ts";
import { tempDir } from "../helpers/cli.ts";

const native = loadNativeBlake3();
const HAVE_NATIVE = native.kernel !== null;
if (!HAVE_NATIVE) console.warn(`native hash tests skipped: ${native.reason}`);
if (!HAVE_B3SUM) console.warn(`BLAKE3 digests checked against ${BLAKE3_REFERENCE}`);

/** Every length has an expected digest: the official vector, else b3sum or the reference implementation. */
const LENGTHS = VECTOR_LENGTHS;
const expected = new Map(LENGTHS.map((n) => [n, expectedPatternBlake3(n)]));

let dir: string;
const fileOf = (n: number) => join(dir, `pattern-${n}.bin`);

beforeAll(() => {
  dir = tempDir("roar-hash-");
  for (const n of LENGTHS) writePatternFile(fileOf(n), n);
  // Writing thousands of files on a busy 2-core machine can outlast the default 5 s hook timeout.
}, 120_000);

afterAll(() => close());

test("the fixture holds the official vectors for the required lengths", () => {
  for (const n of [0, 1, 1023, 1024, 1025, 2048, 31744, 102400]) expect(OFFICIAL_VECTORS.has(n)).toBe(true);
  expect(OFFICIAL_VECTORS.get(0)).toStartWith("af1349b9");
});

test(`the BLAKE3 reference (${HAVE_B3SUM ? "b3sum" : "the suite's implementation"}) agrees with the official vectors`, () => {
  const paths = [0, 1, 1023, 1024, 1025, 2048, 31744, 102400].map(fileOf);
  const sums = toolDigests("b3sum", paths);
  for (const n of [0, 1, 1023, 1024, 1025, 2048, 31744, 102400])
    expect(sums.get(fileOf(n))).toBe(OFFICIAL_VECTORS.get(n));
});

test("the suite's own BLAKE3 agrees with every official vector (the reference when b3sum is absent)", () => {
  for (const [n, digest] of OFFICIAL_VECTORS) expect([n, blake3Reference(patternBytes(n))]).toEqual([n, digest]);
  // and with b3sum beyond the vectors' lengths, where both are at hand
  if (HAVE_B3SUM) for (const n of [MIB, MIB + 1]) expect(blake3Reference(patternBytes(n))).toBe(expected.get(n) ?? "");
});

test("1 MiB and 1 MiB + 1 are covered", () => {
  expect(expected.get(MIB)).toMatch(/^[0-9a-f]{64}$/);
  expect(expected.get(MIB + 1)).toMatch(/^[0-9a-f]{64}$/);
});

describe("wasm, in-thread", () => {
  test("one-shot bytes", async () => {
    const wasm = await loadWasmBlake3();
    for (const n of LENGTHS) expect(wasm.hashBytes(patternBytes(n))).toBe(expected.get(n) ?? "");
  });

  test("streaming with uneven pieces, including single updates larger than 1 MiB", async () => {
    const wasm = await loadWasmBlake3();
    for (const n of LENGTHS) {
      const data = patternBytes(n);
      for (const piece of [1000, WASM_MAX_UPDATE, WASM_MAX_UPDATE + 1, 3 * MIB]) {
        const hasher = wasm.createHasher();
        for (let i = 0; i < n; i += piece) hasher.update(data.subarray(i, i + piece));
        expect(hasher.finish()).toBe(expected.get(n) ?? "");
      }
    }
  });

  test("files (reads straight into the wasm heap)", async () => {
    const engine: HashEngine = { kind: "wasm", wasm: await loadWasmBlake3() };
    for (const n of LENGTHS) {
      const outcome = hashFileSync(fileOf(n), [], engine);
      expect(outcome.ok && outcome.blake3).toBe(expected.get(n) ?? "");
      expect(outcome.ok && outcome.size).toBe(n);
    }
  });

  test("10,000 hashers in a row do not exhaust the wasm heap", async () => {
    const wasm = await loadWasmBlake3();
    const data = patternBytes(1025);
    for (let i = 0; i < 10_000; i++) {
      const hasher = wasm.createHasher();
      hasher.update(data);
      if (i % 2) hasher.finish();
      else hasher.dispose();
    }
    expect(wasm.hashBytes(data)).toBe(OFFICIAL_VECTORS.get(1025) ?? "");
  });
});

describe.skipIf(!HAVE_NATIVE)("native kernel, in-thread", () => {
  test("one-shot bytes and streaming", () => {
    const kernel = native.kernel;
    if (!kernel) return;
    for (const n of LENGTHS) {
      const data = patternBytes(n);
      expect(kernel.hashBytes(data)).toBe(expected.get(n) ?? "");
      const hasher = kernel.createHasher();
      for (let i = 0; i < n; i += 777_777) hasher.update(data.subarray(i, i + 777_777));
      expect(hasher.finish()).toBe(expected.get(n) ?? "");
    }
  });

  test("files: mmap with all cores, mmap single-threaded, and read()", async () => {
    const { engine } = await createEngine("native");
    for (const options of [{}, { threads: 1 }, { mmap: false }]) {
      for (const n of LENGTHS) {
        const outcome = hashFileSync(fileOf(n), [], engine, options);
        expect(outcome.ok && outcome.blake3).toBe(expected.get(n) ?? "");
        expect(outcome.ok && outcome.size).toBe(n);
      }
    }
  });
});

describe.skipIf(!HAVE_NATIVE)("native kernel, batches (what the pool and the record step use)", () => {
  test("hashPaths: every vector length, as hashFileSync; errors by code", async () => {
    const kernel = native.kernel;
    if (!kernel) return;
    const missing = join(dir, "missing");
    const paths = [...LENGTHS.map(fileOf), missing, dir, "/dev/null"];
    for (const options of [{}, { mmap: false }, { checkStable: false }]) {
      const outcomes = kernel.hashPaths(paths, options);
      LENGTHS.forEach((n, i) => {
        const outcome = outcomes[i];
        expect(outcome?.ok && outcome.blake3).toBe(expected.get(n) ?? "");
        expect(outcome?.ok && outcome.size).toBe(n);
        expect(outcome?.ok && outcome.stable).toBe(true);
      });
      const codes = outcomes.slice(LENGTHS.length).map((o) => (o.ok ? "ok" : o.code));
      expect(codes).toEqual(["ENOENT", "EISDIR", "ENOTREGULAR"]);
    }
    // The identity is the file's fstat (what the hash cache keys on), as hashFileSync reports it.
    const { engine } = await createEngine("native");
    const one = hashFileSync(fileOf(1024), [], engine);
    const batch = kernel.hashPaths([fileOf(1024)])[0];
    expect(batch?.ok && batch.identity).toEqual(one.ok ? one.identity : undefined);
  });

  test("statRegularFiles: the identity statSync gives, null for what is not a regular file", () => {
    const kernel = native.kernel;
    if (!kernel) return;
    const link = join(dir, "link-to-1024");
    const odd = join(dir, "odd-\udcff-name");
    symlinkSync(fileOf(1024), link);
    writeFileSync(fsPath(odd), "bytes that are not UTF-8 in the name");
    const paths = [fileOf(0), fileOf(1024), link, odd, join(dir, "missing"), dir, "/dev/null"];
    const stats = kernel.statRegularFiles(paths);
    const reference = paths.map((path) => {
      const st = statSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
      return st?.isFile() ? identityOf(st) : null;
    });
    expect(stats).toEqual(reference);
    expect(stats.slice(4)).toEqual([null, null, null]);
    expect(stats[3]).not.toBeNull();
  });

  test("statRegularFiles and changedSince: non-ASCII names in a block with no escaped bytes (encoded whole)", () => {
    const kernel = native.kernel;
    if (!kernel) return;
    const names = ["naïve-é", "emoji-😀-pair", "日本語", "plain"].map((n) => join(dir, n));
    names.forEach((path, i) => {
      writeFileSync(path, "x".repeat(i + 1));
    });
    const reference = names.map((path) => identityOf(statSync(path, { bigint: true })));
    expect(kernel.statRegularFiles(names)).toEqual(reference);
    const seen = reference.map((id, i) => ({
      size: Number(id.size),
      mtimeNs: Number(id.mtimeNs) + (i === 2 ? 1_000_000 : 0),
    }));
    expect(kernel.changedSince(names, seen)).toEqual([false, false, true, false]);
  });
});

describe.skipIf(!HAVE_NATIVE)("native kernel, queued work (what the record step starts as the job ends)", () => {
  test("a queued hashing gives hashPaths' outcomes; files over the limits are not read; the caller helps", () => {
    const kernel = native.kernel;
    const queue = kernel?.queue();
    if (!kernel || !queue) throw new Error("no queue: its thread did not start");
    try {
      // Several chunks' worth (the queue's thread and the caller share them), every vector length among them.
      const small = LENGTHS.filter((n) => n <= 64 * 1024);
      const paths = Array.from({ length: 300 }, (_, i) => fileOf(small[i % small.length] as number));
      paths.push(join(dir, "missing"), dir, fileOf(MIB + 1));
      const take = queue.hashPaths(paths, { maxSize: MIB, maxTotal: 1e12 });
      const direct = kernel.hashPaths(paths, { mmap: false });
      const queued = take?.();
      // The same but for when each was hashed.
      const when = (o: FileHashOutcome | undefined) => (o?.ok ? { ...o, hashedAtNs: 0n } : o);
      expect(queued?.slice(0, 302).map(when)).toEqual(direct.slice(0, 302).map(when));
      for (let i = 0; i < 300; i++) {
        const outcome = queued?.[i];
        expect(outcome?.ok && outcome.blake3).toBe(expected.get(small[i % small.length] as number) ?? "");
      }
      expect(queued?.slice(300).map((o) => (o.ok ? "ok" : o.code))).toEqual(["ENOENT", "EISDIR", "ESKIPPED"]);
      // The byte budget: files past it are not read either (their bytes were never counted).
      const budget = queue.hashPaths([fileOf(1024), fileOf(1024), fileOf(1024)], { maxSize: MIB, maxTotal: 2048 });
      expect(budget?.().map((o) => (o.ok ? "ok" : o.code))).toEqual(["ok", "ok", "ESKIPPED"]);
    } finally {
      queue.close();
    }
  });

  test("a queued change check answers as changedSince; taken twice or after close, it throws", () => {
    const kernel = native.kernel;
    const queue = kernel?.queue();
    if (!kernel || !queue) throw new Error("no queue: its thread did not start");
    const paths = [fileOf(0), fileOf(1024), fileOf(2048), join(dir, "missing")];
    const seen = paths.map((path, i) => {
      const st = statSync(path, { throwIfNoEntry: false, bigint: true });
      return { size: Number(st?.size ?? 0n), mtimeNs: Number(st?.mtimeNs ?? 0n) + (i === 1 ? 1_000_000 : 0) };
    });
    const take = queue.changedSince(paths, seen);
    const first = take?.();
    expect(first).toEqual(kernel.changedSince(paths, seen));
    expect(first).toEqual([false, true, false, true]);
    expect(() => take?.()).toThrow();
    const later = queue.changedSince(paths, seen);
    queue.close();
    expect(() => later?.()).toThrow();
    expect(queue.changedSince(paths, seen)).toBeNull();
  });

  test("a change check of a list encoded a chunk at a time (one with a name that is not UTF-8) answers as one of the whole", () => {
    const kernel = native.kernel;
    const queue = kernel?.queue();
    if (!kernel || !queue) throw new Error("no queue: its thread did not start");
    try {
      const odd = join(dir, `caf${String.fromCharCode(0xdce9)}`);
      writeFileSync(fsPath(odd), "odd");
      const paths = [fileOf(0), fileOf(1024), odd, fileOf(2048), join(dir, "missing"), fileOf(1024)];
      const seen = paths.map((path, i) => {
        const st = statSync(fsPath(path), { throwIfNoEntry: false, bigint: true });
        return { size: Number(st?.size ?? 0n), mtimeNs: Number(st?.mtimeNs ?? 0n) + (i === 3 ? 1_000_000 : 0) };
      });
      const list = new ChangeCheckList();
      for (const [from, to] of [
        [0, 2],
        [2, 2],
        [2, 4],
        [4, 6],
      ] as const)
        list.add(paths.slice(from, to), seen.slice(from, to));
      expect(list.count).toBe(6);
      const checking = queue.changedSince(list);
      // Added after the check was queued: not in it.
      list.add([fileOf(2048)], [{ size: 0, mtimeNs: 0 }]);
      expect(checking?.()).toEqual(kernel.changedSince(paths, seen));
      expect(kernel.changedSince(paths, seen)).toEqual([false, false, false, true, true, false]);
    } finally {
      queue.close();
    }
  });

  test("a list grown past its first buffers (3,000 long paths in chunks) is checked whole, and a check queued midway keeps its part", () => {
    const kernel = native.kernel;
    const queue = kernel?.queue();
    if (!kernel || !queue) throw new Error("no queue: its thread did not start");
    try {
      // 3,000 paths of ~150 bytes: past the list's first 64 KiB of paths and 1,024 expected pairs, twice over.
      const deep = join(dir, "d".repeat(100));
      mkdirSync(deep, { recursive: true });
      const paths = Array.from({ length: 3000 }, (_, i) => join(deep, `file-${i}.txt`));
      for (const [i, path] of paths.entries()) if (i % 3 !== 0) writeFileSync(path, `content ${i}`);
      const seen = paths.map((path, i) => {
        const st = statSync(path, { throwIfNoEntry: false, bigint: true });
        return { size: Number(st?.size ?? 0n), mtimeNs: Number(st?.mtimeNs ?? 0n) + (i % 7 === 0 ? 1_000_000 : 0) };
      });
      const list = new ChangeCheckList();
      let midway: (() => boolean[]) | null = null;
      for (let from = 0; from < paths.length; from += 250) {
        list.add(paths.slice(from, from + 250), seen.slice(from, from + 250));
        if (from === 1000) midway = queue.changedSince(list);
      }
      expect(list.count).toBe(3000);
      const whole = kernel.changedSince(paths, seen);
      expect(whole.filter(Boolean).length).toBeGreaterThan(1000); // the missing ones and the mtimes moved
      expect(queue.changedSince(list)?.()).toEqual(whole);
      expect(midway?.()).toEqual(whole.slice(0, 1250));
    } finally {
      queue.close();
    }
  });

  test("queued work answers for the paths it was given, however the caller's lists grow after", () => {
    const kernel = native.kernel;
    const queue = kernel?.queue();
    if (!kernel || !queue) throw new Error("no queue: its thread did not start");
    try {
      const paths = [fileOf(1024), fileOf(2048)];
      const seen = paths.map((path) => {
        const st = statSync(path, { bigint: true });
        return { size: Number(st.size), mtimeNs: Number(st.mtimeNs) };
      });
      const checking = queue.changedSince(paths, seen);
      const hashing = queue.hashPaths(paths, { maxSize: MIB, maxTotal: 1e12 });
      // EarlyIdentities keeps listing inputs it identifies after the check was queued (the stream's last records).
      paths.push(fileOf(3072));
      seen.push({ size: 0, mtimeNs: 0 });
      expect(checking?.()).toEqual([false, false]);
      expect(hashing?.().map((o) => (o.ok ? o.blake3 : o.code))).toEqual(
        kernel.hashPaths(paths.slice(0, 2)).map((o) => (o.ok ? o.blake3 : o.code)),
      );
    } finally {
      queue.close();
    }
  });

  test("hashFiles takes outcomes hashed ahead as hashed (not read again), and hashes the rest", async () => {
    const kernel = native.kernel;
    if (!kernel) return;
    const paths = [fileOf(1024), fileOf(2048), fileOf(31744)];
    const [a, b, c] = kernel.hashPaths(paths);
    if (!a?.ok || !b?.ok || !c?.ok) throw new Error("hashing failed");
    // A stand-in digest shows which outcome was used; an unstable one is not trusted, a failed one not either.
    const hashedAhead = new Map([
      [paths[0] as string, { ...a, blake3: "0".repeat(64) }],
      [paths[1] as string, { ...b, blake3: "1".repeat(64), stable: false }],
      [paths[2] as string, { ok: false as const, code: "ESKIPPED", error: "not read" }],
    ]);
    const results = await hashFiles(paths, { kernel: "native", hashedAhead });
    expect([...results.keys()]).toEqual(paths);
    expect(paths.map((path) => (results.get(path) as FileDigest).blake3)).toEqual([
      "0".repeat(64),
      expected.get(2048) ?? "",
      expected.get(31744) ?? "",
    ]);
  });
});

test.skipIf(!HAVE_NATIVE)(
  "without a cache, a few files of known sizes are hashed in the calling thread: no worker is started",
  () => {
    // A process of its own: whether the pool's Worker threads exist there, named as the kernel shows them.
    const script = join(dir, "in-thread.ts");
    writeFileSync(
      script,
      [
        'import { readdirSync, readFileSync, statSync } from "node:fs";',
        `import { close, hashFiles } from ${JSON.stringify(join(import.meta.dir, "../../src/hash/index.ts"))};`,
        "const [mode, ...paths] = process.argv.slice(2);",
        'const unlooked = mode === "sized" ? new Map(paths.map((p) => [p, BigInt(statSync(p).size)])) : undefined;',
        "const out = await hashFiles(paths, { unlooked });",
        'const threads = readdirSync("/proc/self/task").map((t) => readFileSync("/proc/self/task/" + t + "/comm", "utf8").trim());',
        'console.log(JSON.stringify({ digests: [...out.values()].map((r) => ("blake3" in r ? r.blake3 : r.code)), workers: threads.filter((t) => t === "Worker").length }));',
        "close();",
      ].join("\n"),
    );
    const paths = [fileOf(1024), fileOf(31744)];
    const run = (mode: string) => {
      const r = Bun.spawnSync([process.execPath, script, mode, ...paths], { stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      return JSON.parse(r.stdout.toString()) as { digests: string[]; workers: number };
    };
    const digests = [expected.get(1024) ?? "", expected.get(31744) ?? ""];
    const sized = run("sized");
    expect(sized).toEqual({ digests, workers: 0 });
    // Without the sizes the pool is used, as before (which shows the count above can see workers).
    const unsized = run("unsized");
    expect(unsized.digests).toEqual(digests);
    expect(unsized.workers).toBeGreaterThan(0);
  },
);

const POOL_KERNELS = HAVE_NATIVE ? (["wasm", "native"] as const) : (["wasm"] as const);

describe.each(POOL_KERNELS)("worker pool (%s)", (kernel) => {
  test("every vector length, with and without extra algorithms", async () => {
    const paths = LENGTHS.map(fileOf);
    for (const algorithms of [[], ["sha256"]] as const) {
      const results = await hashFiles(paths, { kernel, algorithms });
      for (const n of LENGTHS) {
        const result = results.get(fileOf(n));
        expect(isHashError(result)).toBe(false);
        expect((result as FileDigest).blake3).toBe(expected.get(n) ?? "");
        expect((result as FileDigest).size).toBe(n);
        expect((result as FileDigest).cached).toBe(false);
      }
    }
  });

  test("extra algorithms match sha256sum, sha512sum, sha1sum and md5sum", async () => {
    const paths = LENGTHS.map(fileOf);
    const results = await hashFiles(paths, { kernel, algorithms: ["sha256", "sha512", "sha1", "md5"] });
    const tools = { sha256: "sha256sum", sha512: "sha512sum", sha1: "sha1sum", md5: "md5sum" } as const;
    for (const [alg, tool] of Object.entries(tools) as [keyof typeof tools, string][]) {
      const reference = toolDigests(tool, paths);
      for (const path of paths) expect((results.get(path) as FileDigest).digests[alg]).toBe(reference.get(path) ?? "");
    }
  });

  test("hashFile on one file", async () => {
    const result = await hashFile(fileOf(MIB + 1), { kernel });
    if (!expected.has(MIB + 1)) return;
    expect((result as FileDigest).blake3).toBe(expected.get(MIB + 1) ?? "");
  });
});

test("hashBytes (public API, in-thread)", async () => {
  for (const n of [0, 1, 1024, 102400]) expect(await hashBytes(patternBytes(n))).toBe(OFFICIAL_VECTORS.get(n) ?? "");
  expect(await hashBytes(patternBytes(1025), "wasm")).toBe(OFFICIAL_VECTORS.get(1025) ?? "");
});
