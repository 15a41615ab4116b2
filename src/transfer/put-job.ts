/**
 * The whole of `roar put` after its options are parsed: the clean-tree rule, sources, hashing (an `@N` output must
 * still hold what the step wrote), uploads, the `put` job with its collections, the tag. Returns the `--json`
 * document (a plan for --dry-run).
 */

import { objectUrl } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import type { IoRecord, NewCollection } from "../core/types.ts";
import { type ExtraAlgorithm, hashFiles, isHashError } from "../hash/index.ts";
import { blockingChanges, changeLines } from "../run/dirty-tree.ts";
import type { PutJson } from "../schema/transfer.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError } from "../shared/errors.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import type { Progress } from "../ui/progress.ts";
import { bucketStoreFor } from "./get.ts";
import { objectKeys, parsePutDestination, resolvePutSources, runUploads, type Upload } from "./put.ts";
import { collectionOf, gitState, recordTransfer, remoteOutput, tagCommit } from "./record.ts";

export interface PutRequest {
  project: Project;
  /** Files, directories, `@N`; none: every output of the session. */
  sources: string[];
  dest: string;
  message: string;
  dryRun: boolean;
  noTag: boolean;
  cwd: string;
  env: Record<string, string | undefined>;
  /** hash.put */
  algorithms: readonly ExtraAlgorithm[];
  /** The progress display for the transfer's bytes and files (the command draws a bar on a terminal). */
  progress: (totalBytes: number | null, totalFiles: number) => Progress;
}

export async function putArtifacts(req: PutRequest): Promise<PutJson> {
  const { project } = req;
  const target = parsePutDestination(req.dest);
  const store = RoarStore.open(project, { write: !req.dryRun, create: false });
  try {
    const session = req.dryRun ? store.requireActiveSession() : store.ensureActiveSession();
    const git = gitState(findGitRoot(project.root));
    if (git && !req.dryRun) {
      const blocking = await blockingChanges(git, store, project.root);
      if (blocking.length > 0)
        throw new RoarError(
          `Cannot put with uncommitted changes:\n${changeLines(blocking)}`,
          1,
          "Commit them first (git add -A && git commit): the upload is recorded with its commit.",
        );
    }
    const sources = resolvePutSources(req.sources, {
      store,
      sessionId: session.id,
      cwd: req.cwd,
      projectRoot: project.root,
    });
    const keys = objectKeys(sources.files, target);
    const hashed = await hashFiles(
      sources.files.map((f) => f.abs),
      // Read, not memory-mapped: transfers keep their memory bounded whatever the file sizes.
      { algorithms: req.algorithms, cache: store.hashCache(), mmap: false },
    );
    const uploads: Upload[] = sources.files.map((file, i) => {
      const h = hashed.get(file.abs);
      if (!h || isHashError(h)) throw new RoarError(`cannot read ${file.stored}: ${h?.error ?? "no result"}`);
      if (file.recorded && file.recorded.blake3 !== h.blake3)
        throw new RoarError(
          `${file.stored} changed since ${file.recorded.label} wrote it (blake3 ${h.blake3.slice(0, 12)}…, recorded ${file.recorded.blake3.slice(0, 12)}…)`,
          1,
          `hint: re-run ${file.recorded.label}, or put the file by its path`,
        );
      const key = keys[i] as string;
      return {
        file,
        key,
        url: objectUrl(target.dest.scheme, target.dest.bucket, key),
        blake3: h.blake3,
        size: h.size,
        digests: { ...h.digests } as Record<string, string>,
      };
    });
    const doc: PutJson = {
      schemaVersion: JSON_SCHEMA_VERSION,
      destination: target.shown,
      dryRun: req.dryRun,
      job: null,
      session: session.uid,
      files: uploads.map((u) => ({
        path: u.file.stored,
        url: u.url,
        blake3: u.blake3,
        size: u.size,
        state: "planned",
      })),
      collections: [],
      tag: null,
    };
    if (req.dryRun) return doc;

    const started = Date.now();
    const bucket = await bucketStoreFor(target.dest, req.env);
    const total = uploads.reduce((sum, u) => sum + u.size, 0);
    const unchanged = await runUploads(bucket, uploads, req.progress(total, uploads.length));
    doc.files = doc.files.map((f, i) => ({
      ...f,
      state: unchanged.has(keys[i] as string) ? "unchanged" : "uploaded",
    }));

    const outputs: IoRecord[] = uploads.map((u) => remoteOutput(u.url, u.blake3, u.size, u.digests));
    const inputs = new Map<string, IoRecord>();
    for (const u of uploads)
      inputs.set(u.file.stored, {
        path: u.file.stored,
        blake3: u.blake3,
        size: u.size,
        flags: 0,
        digests: u.digests,
      });
    const collections: NewCollection[] = [];
    for (const [index, dir] of sources.dirs.entries()) {
      const members = uploads.filter((u) => u.file.dir === index);
      const prefixUrl = objectUrl(
        target.dest.scheme,
        target.dest.bucket,
        members[0]?.key.slice(0, -members[0].file.relative.length) ?? "",
      );
      const collection = await collectionOf(
        prefixUrl,
        members.map((u) => ({ path: u.file.relative, blake3: u.blake3, size: u.size })),
        { source: dir },
      );
      collections.push(collection);
      outputs.push(remoteOutput(prefixUrl, collection.blake3, collection.size, {}, true));
      doc.collections.push({ path: dir, url: prefixUrl, blake3: collection.blake3, files: members.length });
    }
    const job = recordTransfer(
      store,
      {
        kind: "put",
        sessionId: session.id,
        argv: ["roar", "put", ...req.sources, target.shown, "-m", req.message, ...(req.noTag ? ["--no-tag"] : [])],
        cwd: req.cwd,
        projectRoot: project.root,
        git,
        clean: true,
        startedAt: started,
        durationMs: Date.now() - started,
        inputs: [...inputs.values()],
        outputs,
        transfer: {
          destination: target.shown,
          message: req.message,
          files: uploads.map((u) => ({ path: u.file.stored, url: u.url, blake3: u.blake3 })),
        },
      },
      collections,
    );
    doc.job = { uid: job.uid, step: job.step, label: stepLabel(job.step, "put") };
    if (!req.noTag) doc.tag = tagCommit(git);
    return doc;
  } finally {
    store.close();
  }
}
