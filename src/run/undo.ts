/**
 * What `roar pop` does to the files of the job it removes. It deletes only files the job *created*, and only
 * while they still hold what the job wrote and nothing else uses them. A file that existed before the job
 * (changed in place, replaced, or deleted by it) is restored to what it held before, when roar has those bytes:
 * kept in .roar/objects (reversible.enabled) or, for a tracked file, the blob of the job's commit with the same
 * digest; otherwise it is kept. Symlinks are never followed to delete anything.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { IoFlags } from "../core/io-flags.ts";
import { absolutePath, isInside } from "../core/project-paths.ts";
import type { IoRecord, JobRow } from "../core/types.ts";
import { hashBytes, isHashError } from "../hash/index.ts";
import { fsPath } from "../shared/paths.ts";
import { objectPath } from "../store/objects.ts";
import type { RoarStore } from "../store/store.ts";
import { isSymlinkMode } from "./captures.ts";
import { hashAsRecorded } from "./links.ts";

export type UndoAction = "delete" | "restore" | "keep" | "gone";

export interface UndoDecision {
  path: string;
  action: UndoAction;
  reason: string;
  /** For "restore": where the earlier bytes come from. */
  source?: { kind: "objects" } | { kind: "git"; commit: string };
}

interface Context {
  store: RoarStore;
  root: string;
  roarDir: string;
  job: JobRow;
}

/** Bytes of `path` at `commit`, when it was tracked there (git cat-file). */
function gitBlob(root: string, commit: string, path: string): Uint8Array | null {
  const r = Bun.spawnSync(["git", "cat-file", "blob", `${commit}:${path}`], {
    cwd: root,
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
  });
  return r.exitCode === 0 ? r.stdout : null;
}

/**
 * Where the earlier content of `o` can come from, if anywhere: .roar/objects (kept by reversible.enabled), or
 * git — the blob at the job's commit, when its digest is the recorded one, or, with no recorded digest, when
 * the file was tracked and unchanged from that commit as the job started (a clean tree, and not among the
 * tracked files that already differed then).
 */
async function earlierBytes(
  ctx: Context,
  o: IoRecord,
): Promise<{ bytes: Uint8Array; source: UndoDecision["source"] } | null> {
  const prev = o.prevBlake3 ?? null;
  if (prev && (o.flags & IoFlags.PREV_KEPT) !== 0) {
    const stored = objectPath(ctx.roarDir, prev);
    if (existsSync(stored)) return { bytes: readFileSync(stored), source: { kind: "objects" } };
  }
  const git = ctx.job.git;
  const commit = git.commit;
  if (!commit || isSymlinkMode(o.prevMode ?? 0)) return null;
  const gitRoot = Bun.spawnSync(["git", "rev-parse", "--show-toplevel"], { cwd: ctx.root, stderr: "ignore" });
  if (gitRoot.exitCode !== 0) return null;
  const top = realpathSync(gitRoot.stdout.toString().trim());
  // Written through a symlink, the content that changed is its target's.
  const abs = absolutePath(o.path, ctx.root);
  let real = abs;
  try {
    if (lstatSync(fsPath(abs)).isSymbolicLink()) real = realpathSync(fsPath(abs)).toString();
  } catch {
    // gone: look it up under its own name
  }
  const inRepo = relative(top, real);
  if (inRepo.startsWith("..")) return null;
  const blob = gitBlob(top, commit, inRepo);
  if (!blob) return null;
  if (prev) return (await hashBytes(blob)) === prev ? { bytes: blob, source: { kind: "git", commit } } : null;
  const unchangedAtStart = git.clean === true && Array.isArray(git.changed) && !git.changed.includes(inRepo);
  return unchangedAtStart ? { bytes: blob, source: { kind: "git", commit } } : null;
}

/** Writes `bytes` at `path` atomically (temp file + rename next to the real file, through symlinks). */
function restoreFile(path: string, bytes: Uint8Array, prevMode: number | null | undefined): void {
  const fs = fsPath(path);
  const st = lstatSync(fs, { throwIfNoEntry: false });
  if (prevMode !== undefined && prevMode !== null && isSymlinkMode(prevMode)) {
    // It was a symlink: put the link back (its target text is what was kept).
    const temp = `${path}.roar-restore-${process.pid}`;
    symlinkSync(Buffer.from(bytes), temp);
    renameSync(temp, fs);
    return;
  }
  // Through a symlink the job wrote to its target: restore the target, keep the link.
  const real = st?.isSymbolicLink() ? realpathSync(fs) : path;
  const mode = st ? statSync(real).mode & 0o7777 : (prevMode ?? 0o100644) & 0o7777;
  const temp = join(dirname(real), `.${process.pid}.roar-restore`);
  writeFileSync(temp, bytes, { mode });
  chmodSync(temp, mode);
  renameSync(temp, real);
}

/** Decides what to do with each file of `job` (its outputs, including files it deleted). */
export async function planUndo(ctx: Context, outputs: IoRecord[]): Promise<UndoDecision[]> {
  const { store, root, job } = ctx;
  const decisions: UndoDecision[] = [];
  const toVerify = new Map<string, { decision: UndoDecision; record: IoRecord }>();
  const internal = [join(root, ".roar"), join(root, ".git")];
  // Who else uses what the job created, asked once for all of its files (inputs are not indexed: one pass each).
  const createdFiles = outputs.filter((o) => (o.flags & IoFlags.CREATED) !== 0);
  const linksAt = store.linksAtPaths(createdFiles.map((o) => o.path));
  const readersOf = store.linksOfArtifacts(
    createdFiles.flatMap((o) => (o.blake3 ? [o.blake3] : [])),
    "input",
  );
  for (const o of outputs) {
    const abs = absolutePath(o.path, root);
    const d: UndoDecision = { path: o.path, action: "keep", reason: "" };
    decisions.push(d);
    if ((o.flags & IoFlags.REMOTE) !== 0) {
      d.reason = "a remote object (roar pop never deletes uploads)";
      continue;
    }
    if (!isInside(abs, root)) {
      d.reason = "outside the project";
      continue;
    }
    if (internal.some((dir) => abs === dir || isInside(abs, dir))) {
      d.reason = "roar or git internals";
      continue;
    }
    const created = (o.flags & IoFlags.CREATED) !== 0;
    const existed = (o.flags & IoFlags.EXISTED) !== 0;
    if (!created && !existed) {
      d.reason = "recorded by an older roar, which did not note whether the job created it";
      continue;
    }
    const st = lstatSync(fsPath(abs), { throwIfNoEntry: false });
    if (o.blake3 === null) {
      // The job deleted a file that existed: put it back if roar has its bytes.
      if (st) {
        d.reason = "the job deleted it, but a file is there again";
        continue;
      }
      toVerify.set(abs, { decision: d, record: o });
      continue;
    }
    if (!st) {
      d.action = "gone";
      d.reason = "already gone";
      continue;
    }
    if (created) {
      const others = (linksAt.get(o.path) ?? []).filter((l) => l.jobUid !== job.uid);
      const reader = others.find((l) => l.role === "input");
      if (reader) {
        d.reason = `read by job ${reader.jobUid.slice(0, 8)}`;
        continue;
      }
      const sameOutput = others.find((l) => l.role === "output" && l.blake3 === o.blake3);
      if (sameOutput) {
        d.reason = `also the output of job ${sameOutput.jobUid.slice(0, 8)}`;
        continue;
      }
      const consumer = (readersOf.get(o.blake3) ?? []).find((l) => l.jobUid !== job.uid);
      if (consumer) {
        d.reason = `its content is an input of job ${consumer.jobUid.slice(0, 8)} (at ${consumer.path})`;
        continue;
      }
      if (st.isSymbolicLink()) {
        // A link the job made: removing it never touches what it points to.
        d.action = "delete";
        d.reason = "a symlink the job created";
        continue;
      }
      if (!st.isFile()) {
        d.reason = "not a regular file";
        continue;
      }
      // Safety net: an inode born before the job cannot be a file the job created.
      if (st.birthtimeMs > 0 && st.birthtimeMs < job.startedAt - 2000) {
        d.reason = "it existed before the job";
        continue;
      }
    }
    if (existed && o.prevBlake3 === o.blake3) {
      d.reason = "the job left it as it was";
      continue;
    }
    if (o.size !== null && !st.isSymbolicLink() && st.size !== o.size) {
      d.reason = "modified since roar recorded it";
      continue;
    }
    toVerify.set(abs, { decision: d, record: o });
  }

  // Files still holding what the job wrote can be deleted (created) or restored (existed).
  const present = [...toVerify]
    .filter(([, v]) => v.record.blake3 !== null)
    .map(([abs, v]) => ({ path: abs, link: (v.record.flags & IoFlags.SYMLINK) !== 0 }));
  const hashed = present.length > 0 ? await hashAsRecorded(present, { cache: store.hashCache() }) : new Map();
  for (const [abs, { decision: d, record: o }] of toVerify) {
    if (o.blake3 !== null) {
      const h = hashed.get(abs);
      if (!h || isHashError(h)) {
        d.reason = `cannot verify its content (${h?.code ?? "EIO"})`;
        continue;
      }
      if (h.blake3 !== o.blake3) {
        d.reason = "modified since roar recorded it";
        continue;
      }
      if ((o.flags & IoFlags.CREATED) !== 0) {
        d.action = "delete";
        continue;
      }
    }
    const earlier = await earlierBytes(ctx, o);
    if (!earlier) {
      d.reason =
        "it existed before the job, and roar does not have its earlier content (set reversible.enabled = true to keep it)";
      continue;
    }
    d.action = "restore";
    d.source = earlier.source;
    d.reason = earlier.source?.kind === "git" ? `from git ${earlier.source.commit.slice(0, 8)}` : "from .roar/objects";
    restorePlan.set(d, { abs, bytes: earlier.bytes, prevMode: o.prevMode });
  }
  return decisions;
}

const restorePlan = new WeakMap<UndoDecision, { abs: string; bytes: Uint8Array; prevMode?: number | null }>();

/** Carries out the decisions (after the job's record is gone); failures turn into "keep" with the reason. */
export function applyUndo(root: string, decisions: UndoDecision[]): void {
  for (const d of decisions) {
    try {
      if (d.action === "delete") unlinkSync(fsPath(absolutePath(d.path, root)));
      else if (d.action === "restore") {
        const plan = restorePlan.get(d);
        if (plan) restoreFile(plan.abs, plan.bytes, plan.prevMode);
      }
    } catch (error) {
      d.reason = `could not ${d.action} it: ${error instanceof Error ? error.message : String(error)}`;
      d.action = "keep";
    }
  }
}
