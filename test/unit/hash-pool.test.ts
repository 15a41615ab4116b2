/** The worker pool at scale and at its edges: thousands of files, unreadable entries, odd names, exit. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  close,
  type FileDigest,
  type HashProgress,
  hashFiles,
  isHashError,
  MemoryHashCache,
} from "../../src/hash/index.ts";
import { loadNativeBlake3 } from "../../src/hash/native.ts";
import { bytesToPath } from "../../src/shared/paths.ts";
import { BLAKE3_REFERENCE, b3sumBytes, toolDigests } from "../fixtures/hash/reference.ts";
import { BUN, REPO_ROOT, tempDir } from "../helpers/cli.ts";

const KERNELS = loadNativeBlake3().kernel ? (["wasm", "native"] as const) : (["wasm"] as const);
const FILE_COUNT = 6_500;

let dir: string;
let paths: string[];
let reference: Map<string, string>;

beforeAll(() => {
  dir = tempDir("roar-hash-pool-");
  mkdirSync(join(dir, "many"));
  paths = [];
  for (let i = 0; i < FILE_COUNT; i++) {
    const path = join(dir, "many", `f${i}.dat`);
    // Sizes from 0 to ~5 KiB so chunk boundaries (1024) are crossed in many ways.
    writeFileSync(path, Buffer.alloc((i * 37) % 5000, i % 256));
    paths.push(path);
  }
  reference = toolDigests("b3sum", paths);
  // Writing thousands of files on a busy 2-core machine can outlast the default 5 s hook timeout.
}, 120_000);

afterAll(() => close());

describe.each(KERNELS)("%s kernel", (kernel) => {
  test(`${FILE_COUNT} files without running out of wasm memory, all matching ${BLAKE3_REFERENCE}`, async () => {
    const progress: HashProgress[] = [];
    const results = await hashFiles(paths, { kernel, onProgress: (p) => progress.push(p) });
    expect(results.size).toBe(FILE_COUNT);
    for (const path of paths) {
      const result = results.get(path);
      expect(isHashError(result)).toBe(false);
      expect((result as FileDigest).blake3).toBe(reference.get(path) ?? "");
    }
    expect(progress.at(-1)?.filesDone).toBe(FILE_COUNT);
    expect(progress.at(-1)?.filesTotal).toBe(FILE_COUNT);
  });

  test("vanished, directory, fifo and non-UTF-8 names: error entries or digests, never a throw or a hang", async () => {
    const weird = bytesToPath(
      Buffer.concat([Buffer.from(`${dir}/name-`), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]),
    );
    writeFileSync(
      Buffer.concat([Buffer.from(`${dir}/name-`), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]),
      "bytes",
    );
    const fifo = join(dir, `fifo-${kernel}`);
    Bun.spawnSync(["mkfifo", fifo]);
    const gone = join(dir, "never-existed");
    const good = paths[1] ?? "";
    const results = await hashFiles([gone, dir, fifo, weird, good], { kernel });
    expect(results.get(gone)).toMatchObject({ code: "ENOENT" });
    expect(results.get(dir)).toMatchObject({ code: "EISDIR" });
    expect(results.get(fifo)).toMatchObject({ code: "ENOTREGULAR" });
    expect((results.get(weird) as FileDigest).size).toBe(5);
    expect(isHashError(results.get(good))).toBe(false);
    expect((results.get(weird) as FileDigest).blake3).toBe(b3sumBytes(Buffer.from("bytes")));
  });

  test("duplicate paths are hashed once and keep the caller's order", async () => {
    const list = [paths[3] ?? "", paths[2] ?? "", paths[3] ?? ""];
    const results = await hashFiles(list, { kernel });
    expect([...results.keys()]).toEqual([paths[3] ?? "", paths[2] ?? ""]);
  });
});

test("a CLI that hashes and never calls close() still exits promptly", async () => {
  const script = join(tempDir("roar-hash-exit-"), "exit.ts");
  writeFileSync(
    script,
    `import { hashFiles } from ${JSON.stringify(join(REPO_ROOT, "src/hash/index.ts"))};
     const r = await hashFiles(${JSON.stringify(paths.slice(0, 50))});
     console.log(r.size);`,
  );
  const started = Date.now();
  const proc = Bun.spawn([BUN, script], { stdout: "pipe", stderr: "pipe", cwd: REPO_ROOT });
  const timer = setTimeout(() => proc.kill(), 20_000);
  const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  clearTimeout(timer);
  expect(out.trim()).toBe("50");
  expect(code).toBe(0);
  expect(Date.now() - started).toBeLessThan(15_000);
});

test.skipIf(!loadNativeBlake3().kernel)(
  "with a hash cache, thousands of small new files are hashed in this thread: every digest matches",
  async () => {
    const cache = new MemoryHashCache();
    const results = await hashFiles(paths, { cache, kernel: "native" });
    expect(results.size).toBe(FILE_COUNT);
    for (const path of paths) expect((results.get(path) as FileDigest).blake3).toBe(reference.get(path) as string);
    // Kept for next time (as racy rows: just written), and served from the cache once the files have aged.
    expect(cache.size).toBe(FILE_COUNT);
  },
  60_000,
);

test("no worker can start: the files are hashed in this thread, the same digests, with one warning", () => {
  const script = join(tempDir("roar-hash-noworker-"), "noworker.ts");
  writeFileSync(
    script,
    `import { close, hashFiles, setHashWorkerUrl } from ${JSON.stringify(join(REPO_ROOT, "src/hash/index.ts"))};
     setHashWorkerUrl("file:///nonexistent/roar-hash-worker.js");
     const r = await hashFiles(${JSON.stringify(paths.slice(0, 300))});
     console.log(JSON.stringify([...r].map(([p, d]) => [p, "blake3" in d ? d.blake3 : d.code])));
     close();`,
  );
  const r = Bun.spawnSync([BUN, script], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  const digests = JSON.parse(r.stdout.toString()) as [string, string][];
  expect(digests).toEqual(paths.slice(0, 300).map((p) => [p, reference.get(p) as string]));
  expect(r.stderr.toString().match(/hashing in the main thread/g)?.length).toBe(1);
}, 60_000);
