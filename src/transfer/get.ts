/**
 * `roar get`: which files a URL names and where they land (plan), then the downloads themselves (run): every file
 * through a temporary file, hashed and verified (--hash, and the BLAKE3 `roar put` stored with the object) before
 * anything is renamed into place; all or nothing. A destination that already holds the same bytes is left alone.
 */
import { lstatSync } from "node:fs";
import { basename } from "node:path";
import { type BucketUrl, objectUrl, parseRemoteUrl, publicUrl, safeRelativePath } from "../core/remote.ts";
import { type ExtraAlgorithm, type HashCacheStore, hashFiles, isHashError } from "../hash/index.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { userPath } from "../shared/paths.ts";
import type { Progress } from "../ui/progress.ts";
import { downloadToFile } from "./download.ts";
import { gcsSettings } from "./gcs.ts";
import { httpsOpener } from "./https.ts";
import { forEachLimited, type Landing } from "./landing.ts";
import type { BucketStore, RangeOpener } from "./types.ts";

type Env = Record<string, string | undefined>;

/** Files downloaded at once. */
export const DOWNLOAD_CONCURRENCY = 4;

export interface PlannedDownload {
  /** Credential-free URL of the object. */
  url: string;
  /** Absolute destination path. */
  dest: string;
  /** Path under the prefix (prefix downloads), else null. */
  relative: string | null;
  size: number | null;
  open: RangeOpener;
  /** BLAKE3 of a bucket object, when the object's metadata says (known before downloading only for HEADs). */
  remoteBlake3: () => Promise<string | null>;
}

export interface GetPlan {
  /** Credential-free source URL. */
  source: string;
  /** The local directory a prefix download fills; null for one file. */
  destDir: string | null;
  files: PlannedDownload[];
}

export interface GotFile {
  url: string;
  dest: string;
  relative: string | null;
  blake3: string;
  size: number;
  digests: Record<string, string>;
  /** downloaded: new here; replaced: --force over other content; unchanged: the destination had these bytes. */
  state: "downloaded" | "replaced" | "unchanged";
  /** What the destination held before, when it existed. */
  prevBlake3: string | null;
  resumed: number;
}

/** The bucket of an `s3://` or `gs://` URL (the AWS SDK is loaded only then: https downloads do without it). */
export async function bucketStoreFor(url: BucketUrl, env: Env): Promise<BucketStore> {
  const { openBucket, s3Settings } = await import("./s3.ts");
  return openBucket(url.scheme, url.bucket, url.scheme === "gs" ? gcsSettings(env) : s3Settings(env));
}

function isDirectory(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** One file's destination: into `dest` when it is a directory (or ends in `/`), else `dest` itself. */
function singleDest(dest: string | undefined, name: string, cwd: string): string {
  if (dest === undefined) return userPath(name, cwd);
  const abs = userPath(dest, cwd);
  return dest.endsWith("/") || isDirectory(abs) ? `${abs}/${name}` : abs;
}

export async function planGet(source: string, dest: string | undefined, cwd: string, env: Env): Promise<GetPlan> {
  const url = parseRemoteUrl(source);
  const shown = publicUrl(source);
  if (url.scheme === "https") {
    const segments = url.url.pathname.split("/");
    let name = segments[segments.length - 1] ?? "";
    try {
      name = decodeURIComponent(name);
    } catch {
      // kept as written
    }
    if ((name === "" || name.includes("/")) && (dest === undefined || dest.endsWith("/")))
      throw new UsageError(`cannot name the file of ${shown}: give a destination file name`);
    const file = singleDest(dest, name, cwd);
    return {
      source: shown,
      destDir: null,
      files: [
        {
          url: shown,
          dest: file,
          relative: null,
          size: null,
          open: httpsOpener(url.url),
          remoteBlake3: async () => null,
        },
      ],
    };
  }
  const bucket = await bucketStoreFor(url, env);
  const where = (key: string) => objectUrl(url.scheme, url.bucket, key);
  const remoteBlake3 = (key: string) => async () => (await bucket.head(key))?.metadata.blake3 ?? null;
  if (url.isPrefix) {
    const objects = await bucket.list(url.key);
    if (objects.length === 0) throw new RoarError(`No files found under prefix: ${shown}`);
    const destDir = userPath(dest ?? ".", cwd);
    return {
      source: shown,
      destDir,
      files: objects.map((o) => {
        const relative = safeRelativePath(o.key.slice(url.key.length), shown);
        return {
          url: where(o.key),
          dest: `${destDir}/${relative}`,
          relative,
          size: o.size,
          open: bucket.opener(o.key),
          remoteBlake3: remoteBlake3(o.key),
        };
      }),
    };
  }
  const head = await bucket.head(url.key);
  if (!head) {
    const under = await bucket.list(`${url.key}/`);
    throw new RoarError(
      `${shown}: no such object`,
      1,
      under.length > 0
        ? `hint: ${under.length} object(s) are under ${shown}/ — add a trailing / to get them all`
        : undefined,
    );
  }
  const name = safeRelativePath(basename(url.key), shown);
  return {
    source: shown,
    destDir: null,
    files: [
      {
        url: shown,
        dest: singleDest(dest, name, cwd),
        relative: null,
        size: head.size,
        open: bucket.opener(url.key),
        remoteBlake3: async () => head.metadata.blake3 ?? null,
      },
    ],
  };
}

export interface RunGetOptions {
  expectHash: string | null;
  force: boolean;
  algorithms: readonly ExtraAlgorithm[];
  cache: HashCacheStore;
  progress: Progress;
  landing: Landing;
}

async function digestOf(
  path: string,
  options: RunGetOptions,
): Promise<{ blake3: string; size: number; digests: Record<string, string> }> {
  // Read, not memory-mapped: a mapped 1 GiB file counts as 1 GiB of resident memory while it is hashed.
  const r = (await hashFiles([path], { algorithms: options.algorithms, cache: options.cache, mmap: false })).get(path);
  if (!r || isHashError(r)) throw new RoarError(`cannot hash ${path}: ${r?.error ?? "no result"}`);
  return { blake3: r.blake3, size: r.size, digests: { ...r.digests } as Record<string, string> };
}

function existsOtherwise(file: PlannedDownload): RoarError {
  return new RoarError(`Destination already exists with other content: ${file.dest}`, 1, "hint: --force overwrites it");
}

/** Downloads the plan's files; returns what each destination now holds. Nothing is renamed unless all succeed. */
export async function runGet(plan: GetPlan, options: RunGetOptions): Promise<GotFile[]> {
  const { landing } = options;
  const got: GotFile[] = new Array(plan.files.length);
  const temps: (string | null)[] = new Array(plan.files.length).fill(null);
  try {
    await forEachLimited(plan.files, DOWNLOAD_CONCURRENCY, async (file, i) => {
      const st = lstatSync(file.dest, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw new RoarError(`Destination is a directory: ${file.dest}`);
      const before = st?.isFile() ? await digestOf(file.dest, options) : null;
      if (before) {
        const remote = await file.remoteBlake3();
        if (remote !== null && remote === before.blake3) {
          got[i] = {
            url: file.url,
            dest: file.dest,
            relative: file.relative,
            ...before,
            state: "unchanged",
            prevBlake3: before.blake3,
            resumed: 0,
          };
          options.progress.add(before.size);
          options.progress.fileDone();
          return;
        }
        if (remote !== null && !options.force) throw existsOtherwise(file);
      } else if (st && !options.force) throw existsOtherwise(file);
      const temp = landing.tempFor(file.dest);
      temps[i] = temp;
      const done = await downloadToFile(temp, file.open, { where: file.url, onBytes: (n) => options.progress.add(n) });
      options.progress.fileDone();
      const h = await digestOf(temp, options);
      const stored = done.metadata.blake3;
      if (stored && stored !== h.blake3)
        throw new RoarError(
          `${file.url}: the downloaded bytes (blake3 ${h.blake3}) do not match the BLAKE3 stored with the object (${stored}); nothing was written`,
        );
      if (before && before.blake3 === h.blake3) {
        landing.discard(temp);
        temps[i] = null;
        got[i] = {
          url: file.url,
          dest: file.dest,
          relative: file.relative,
          ...h,
          state: "unchanged",
          prevBlake3: before.blake3,
          resumed: done.resumed,
        };
        return;
      }
      if (before && !options.force) throw existsOtherwise(file);
      got[i] = {
        url: file.url,
        dest: file.dest,
        relative: file.relative,
        ...h,
        state: before || st ? "replaced" : "downloaded",
        prevBlake3: before?.blake3 ?? null,
        resumed: done.resumed,
      };
    });
    if (options.expectHash !== null) {
      const only = got[0] as GotFile;
      if (only.blake3 !== options.expectHash)
        throw new RoarError(
          `Hash mismatch for ${only.url}: expected ${options.expectHash}, got ${only.blake3}; nothing was written`,
        );
    }
    for (let i = 0; i < got.length; i++) {
      const temp = temps[i];
      if (temp) landing.commit(temp, (got[i] as GotFile).dest);
    }
  } catch (error) {
    landing.abort();
    throw error;
  } finally {
    options.progress.done();
  }
  return got;
}
