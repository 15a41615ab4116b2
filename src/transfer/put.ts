/**
 * `roar put`: which local files the sources name (files, directories, `@N`'s outputs, or every output of the
 * session), the key each one gets under the destination, and the uploads (streamed, multipart, bounded
 * concurrency, BLAKE3 and `hash.put` digests stored as object metadata). An object that already holds the same
 * bytes (same BLAKE3 in its metadata) is not uploaded again.
 */
import { readdirSync, statSync } from "node:fs";
import { basename } from "node:path";
import { IoFlags } from "../core/io-flags.ts";
import { absolutePath, isInside, storedPath } from "../core/project-paths.ts";
import { type BucketUrl, objectUrl, parseRemoteUrl, publicUrl, uploadKey } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import { resolveStepRefInStore } from "../run/step-refs.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { userPath } from "../shared/paths.ts";
import type { RoarStore } from "../store/store.ts";
import type { Progress } from "../ui/progress.ts";
import { forEachLimited } from "./landing.ts";
import type { BucketStore } from "./types.ts";

/** Files uploaded at once (each with up to QUEUE_SIZE parts in flight, see s3.ts). */
export const UPLOAD_CONCURRENCY = 2;

export interface PutFile {
  /** Absolute local path. */
  abs: string;
  /** Its stored form (relative to the project root when inside it). */
  stored: string;
  /** Name under the destination prefix. */
  relative: string;
  /** For `@N` sources: the digest the step recorded (the file must still hold it). */
  recorded: { blake3: string; label: string } | null;
  /** Index into PutSources.dirs when it came from a directory source. */
  dir: number | null;
  /** A single file source (it may go to an exact key). */
  single: boolean;
}

export interface PutSources {
  files: PutFile[];
  /** Directory sources: their stored path (each becomes a collection). */
  dirs: string[];
}

export interface ResolveContext {
  store: RoarStore;
  sessionId: number;
  cwd: string;
  projectRoot: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      // Never roar's database or git's objects, even when the project root itself is put.
      if (entry.name === ".git" || entry.name === ".roar") continue;
      out.push(...walk(path));
    } else if (entry.isFile() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile())) {
      out.push(path);
    }
  }
  return out;
}

/** Outputs of a job that are files on disk here (no deletions, no remote objects, no directories). */
function localOutputs(outputs: { path: string; blake3: string | null; flags: number }[]) {
  return outputs.filter(
    (o): o is { path: string; blake3: string; flags: number } =>
      o.blake3 !== null && (o.flags & (IoFlags.REMOTE | IoFlags.COLLECTION | IoFlags.DELETED)) === 0,
  );
}

export function resolvePutSources(sources: readonly string[], ctx: ResolveContext): PutSources {
  const files: PutFile[] = [];
  const dirs: string[] = [];
  const fromOutputs = (outputs: { path: string; blake3: string }[], label: string) => {
    for (const o of outputs) {
      const abs = absolutePath(o.path, ctx.projectRoot);
      const relative = isInside(abs, ctx.projectRoot) ? o.path : basename(abs);
      files.push({ abs, stored: o.path, relative, recorded: { blake3: o.blake3, label }, dir: null, single: false });
    }
  };
  if (sources.length === 0) {
    // Every output of the session's current steps (a later step's output at a path wins).
    const latest = new Map<string, { path: string; blake3: string; label: string }>();
    const io = ctx.store.sessionIo(ctx.sessionId);
    const current = new Map<number, { uid: string; kind: string }>();
    for (const j of ctx.store.sessionJobSummaries(ctx.sessionId))
      if (j.kind === "run" || j.kind === "build") current.set(j.step, j);
    for (const [step, j] of [...current].sort((a, b) => a[0] - b[0]))
      for (const o of localOutputs(io.get(j.uid)?.outputs ?? []))
        latest.set(o.path, { ...o, label: stepLabel(step, j.kind) });
    if (latest.size === 0)
      throw new RoarError("No outputs in this session to upload", 1, "hint: name the files to upload");
    for (const o of latest.values()) fromOutputs([o], o.label);
    return { files, dirs };
  }
  for (const source of sources) {
    if (source.startsWith("@")) {
      const job = resolveStepRefInStore(ctx.store, source, ctx.sessionId);
      const outputs = localOutputs(ctx.store.jobIo(job.uid).outputs);
      if (outputs.length === 0) throw new RoarError(`${source} has no output files to upload`);
      fromOutputs(outputs, stepLabel(job.step, job.kind));
      continue;
    }
    const abs = userPath(source, ctx.cwd);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) throw new RoarError(`Source not found: ${source}`);
    if (st.isDirectory()) {
      const dir = dirs.length;
      dirs.push(storedPath(abs, ctx.projectRoot));
      const inside = walk(abs);
      if (inside.length === 0) throw new RoarError(`${source} holds no files to upload`);
      for (const f of inside)
        files.push({
          abs: f,
          stored: storedPath(f, ctx.projectRoot),
          relative: f.slice(abs.length + 1),
          recorded: null,
          dir,
          single: false,
        });
    } else if (st.isFile()) {
      files.push({
        abs,
        stored: storedPath(abs, ctx.projectRoot),
        relative: basename(abs),
        recorded: null,
        dir: null,
        single: true,
      });
    } else throw new RoarError(`${source} is not a regular file or a directory`);
  }
  return { files, dirs };
}

export interface PutTarget {
  dest: BucketUrl;
  /** The destination as given, credential-free. */
  shown: string;
}

export function parsePutDestination(text: string): PutTarget {
  const dest = parseRemoteUrl(text);
  if (dest.scheme === "https") throw new UsageError("roar put uploads to s3:// or gs:// destinations");
  return { dest, shown: publicUrl(text) };
}

/** Each file's object key; two files may not share one. */
export function objectKeys(files: readonly PutFile[], target: PutTarget): string[] {
  const single = files.length === 1 && files[0]?.single === true;
  const keys = files.map((f) => uploadKey(target.dest, f.relative, single));
  const seen = new Map<string, string>();
  for (const [i, key] of keys.entries()) {
    const other = seen.get(key);
    const file = files[i] as PutFile;
    if (other !== undefined && other !== file.abs)
      throw new RoarError(
        `${other} and ${file.abs} would both be uploaded to ${objectUrl(target.dest.scheme, target.dest.bucket, key)}`,
      );
    seen.set(key, file.abs);
  }
  return keys;
}

export interface Upload {
  file: PutFile;
  key: string;
  url: string;
  blake3: string;
  size: number;
  digests: Record<string, string>;
}

/** Uploads every file not already there with the same BLAKE3; returns the keys it skipped. */
export async function runUploads(
  bucket: BucketStore,
  uploads: readonly Upload[],
  progress: Progress,
): Promise<Set<string>> {
  const unchanged = new Set<string>();
  try {
    await forEachLimited(uploads, UPLOAD_CONCURRENCY, async (u) => {
      const there = await bucket.head(u.key);
      if (there && there.size === u.size && there.metadata.blake3 === u.blake3) {
        unchanged.add(u.key);
        progress.add(u.size);
      } else {
        await bucket.upload(u.file.abs, u.key, { blake3: u.blake3, ...u.digests }, (n) => progress.add(n));
      }
      progress.fileDone();
    });
  } finally {
    progress.done();
  }
  return unchanged;
}
