/**
 * get and put as jobs of the session. A `get` job has no inputs and the downloaded files as outputs: a source node
 * of the DAG. A `put` job has the uploaded files as inputs and the remote objects (`s3://…`, flagged REMOTE) as
 * outputs, plus each uploaded directory's prefix with its composite digest (REMOTE | COLLECTION); those
 * directories also become collections. Remote outputs are never taken for local files (dag, status, pop,
 * reproduce), so the DAG reads get → run → put.
 */
import { type GitState, readGitState } from "../capture/git.ts";
import { IoFlags } from "../core/io-flags.ts";
import { storedPath } from "../core/project-paths.ts";
import { compositeListing } from "../core/remote.ts";
import { stepIdentity } from "../core/step.ts";
import type { IoRecord, JobKind, NewCollection, NewJobInput } from "../core/types.ts";
import { hashBytes } from "../hash/index.ts";
import type { RoarStore } from "../store/store.ts";

export interface TransferJob {
  kind: Extract<JobKind, "get" | "put">;
  sessionId: number;
  /** The command line as recorded: URLs without credentials. */
  argv: string[];
  cwd: string;
  projectRoot: string;
  git: GitState | null;
  /** No uncommitted changes that block a run (see run/dirty-tree.ts). */
  clean: boolean;
  startedAt: number;
  durationMs: number;
  inputs: IoRecord[];
  outputs: IoRecord[];
  /** What `roar show` tells about the transfer: source/destination, message, files (url → path, blake3). */
  transfer: Record<string, unknown>;
}

export function gitState(root: string | undefined): GitState | null {
  return root ? readGitState(root) : null;
}

export function recordTransfer(store: RoarStore, job: TransferJob, collections: NewCollection[]) {
  const git = job.git;
  const input: NewJobInput = {
    sessionId: job.sessionId,
    stepIdentity: stepIdentity(job.kind, job.argv),
    kind: job.kind,
    name: null,
    argv: job.argv,
    cwd: storedPath(job.cwd, job.projectRoot),
    startedAt: job.startedAt,
    durationMs: Math.round(job.durationMs),
    traceMs: null,
    postMs: null,
    exitCode: 0,
    signal: null,
    status: "ok",
    git: git ? { commit: git.commit, branch: git.branch, remoteUrl: git.remoteUrl, clean: job.clean } : {},
    trace: {},
    metadata: { transfer: job.transfer },
    inputs: job.inputs,
    outputs: job.outputs,
  };
  return store.insertTransferJob(input, collections);
}

/** The composite digest of a directory's files (see core/remote.ts compositeListing). */
export async function compositeDigest(members: readonly { path: string; blake3: string }[]): Promise<string> {
  return hashBytes(compositeListing(members));
}

export async function collectionOf(
  name: string,
  members: { path: string; blake3: string; size: number }[],
  metadata: Record<string, unknown>,
): Promise<NewCollection & { size: number }> {
  return {
    name,
    kind: "directory",
    blake3: await compositeDigest(members),
    members: members.map((m) => ({ path: m.path, blake3: m.blake3 })),
    metadata: { ...metadata, files: members.length },
    size: members.reduce((sum, m) => sum + m.size, 0),
  };
}

/** An output row for a remote object (or, with `collection`, a remote prefix as a whole). */
export function remoteOutput(
  url: string,
  blake3: string,
  size: number,
  digests: Record<string, string>,
  collection = false,
): IoRecord {
  return { path: url, blake3, size, flags: IoFlags.REMOTE | (collection ? IoFlags.COLLECTION : 0), digests };
}

/** Creates `roar/<commit>` (lightweight) unless it exists; returns the tag, or null outside git or without commits. */
export function tagCommit(git: GitState | null): string | null {
  if (!git?.commit) return null;
  const tag = `roar/${git.commit}`;
  const exists = Bun.spawnSync(["git", "rev-parse", "-q", "--verify", `refs/tags/${tag}`], { cwd: git.root });
  if (exists.exitCode === 0) return tag;
  const r = Bun.spawnSync(["git", "tag", tag, git.commit], { cwd: git.root, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git tag ${tag} failed: ${r.stderr.toString().trim()}`);
  return tag;
}
