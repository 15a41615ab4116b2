/**
 * Where the bytes of a plan's external inputs come from (roar keeps digests, not copies): a tracked file from git
 * at the commit of each step that reads it (the rebuild checks that commit out, or applies the recorded diff that
 * has it); otherwise a copy from anywhere the digest is found — the working tree, another path a job recorded it
 * at, `.roar/objects` — and only when none has the bytes is it "not available". An input outside the project is
 * used in place and must still hold them.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync } from "node:fs";
import { absolutePath } from "../../core/project-paths.ts";
import type { ExternalInput, ReproducePlan } from "../../core/reproduce.ts";
import type { JobWithIo } from "../../core/types.ts";
import type { HashCacheStore } from "../../hash/cache.ts";
import { hashBytes, hashFile, hashFiles, isHashError } from "../../hash/index.ts";
import { fsPath, parentDir } from "../../shared/paths.ts";
import { objectPath } from "../../store/objects.ts";
import type { Project } from "../../store/project.ts";
import type { RoarStore } from "../../store/store.ts";

/**
 * Where bytes recorded by digest may be found on this machine: the project's working tree (relative paths are
 * relative to `root`), other paths a job recorded the digest at, the content store, and recorded diffs. A plan
 * from the registry in a directory without roar history has only the working tree.
 */
export interface LocalBytes {
  root: string;
  hashCache?: HashCacheStore;
  /** Stored paths (relative to `root`, or absolute) a job recorded this digest at. */
  recordedPaths(blake3: string): string[];
  /** A copy in the content store, when there is one. */
  objectFile(blake3: string): string | null;
  /** A recorded uncommitted diff, by digest. */
  blob(digest: string): Uint8Array | undefined;
}

export function storeBytes(project: Project, store: RoarStore): LocalBytes {
  return {
    root: project.root,
    hashCache: store.hashCache(),
    recordedPaths: (blake3) => (store.linksOfArtifacts([blake3]).get(blake3) ?? []).map((l) => l.path),
    objectFile: (blake3) => {
      const file = objectPath(project.roarDir, blake3);
      return existsSync(file) ? file : null;
    },
    blob: (digest) => store.blob(digest),
  };
}

/** Only the working tree under `root`: nothing recorded here. */
export function workingTreeBytes(root: string): LocalBytes {
  return { root, recordedPaths: () => [], objectFile: () => null, blob: () => undefined };
}

/** `unchecked`: not found here, and no clone here to look in git (a plan from the registry; --run clones first). */
export type Availability = "available" | "missing" | "differs" | "unchecked";

export interface LocatedInput extends ExternalInput {
  availability: Availability;
  /** In words, for the plan: "git", "working tree", "copy at data/v1.csv", ".roar/objects", "in place". */
  source: string | null;
  /** Consumers whose commit (or recorded diff) holds the bytes at that path. */
  inGit: Set<string>;
  /** A file holding the bytes, to copy for the other consumers. */
  copyFrom: string | null;
}

/** The repository's view of the project: where it sits, to ask git for `commit:path`. */
export interface RepoView {
  gitRoot: string;
  /** The project's directory relative to the repository root, with a trailing slash ('' at the root). */
  prefix: string;
}

function isAbsolutePath(path: string): boolean {
  return path.startsWith("/");
}

/** Paths a `git diff` (a recorded --allow-dirty patch) changes, relative to the repository root. */
function patchedPaths(patch: Uint8Array): Set<string> {
  const out = new Set<string>();
  for (const m of new TextDecoder().decode(patch).matchAll(/^\+\+\+ b\/(.+)$/gm)) out.add(m[1] as string);
  return out;
}

export async function locateInputs(
  plan: ReproducePlan,
  bytes: LocalBytes,
  repo: RepoView | null,
  /** No repository here does not mean no git: the rebuild's own clone will be asked (plans from the registry). */
  uncheckedWithoutRepo = false,
): Promise<LocatedInput[]> {
  const jobs = new Map(plan.steps.map((s) => [s.uid, s]));
  const gitBlobs = new Map<string, string | null>();
  const blobDigest = async (commit: string, repoPath: string): Promise<string | null> => {
    const key = `${commit}:${repoPath}`;
    if (!gitBlobs.has(key)) {
      const r = repo
        ? Bun.spawnSync(["git", "cat-file", "blob", key], { cwd: repo.gitRoot, stdout: "pipe", stderr: "ignore" })
        : null;
      gitBlobs.set(key, r && r.exitCode === 0 ? await hashBytes(r.stdout) : null);
    }
    return gitBlobs.get(key) ?? null;
  };
  const patches = new Map<string, Set<string>>();
  const patched = (job: JobWithIo): Set<string> => {
    const id = job.git.patch;
    if (!id) return new Set();
    let set = patches.get(id);
    if (!set) {
      const diff = bytes.blob(id);
      set = diff ? patchedPaths(diff) : new Set();
      patches.set(id, set);
    }
    return set;
  };

  const located: LocatedInput[] = [];
  for (const ext of plan.externalInputs) {
    const here = absolutePath(ext.path, bytes.root);
    const entry: LocatedInput = { ...ext, availability: "missing", source: null, inGit: new Set(), copyFrom: null };
    located.push(entry);
    if (isAbsolutePath(ext.path)) {
      const h = existsSync(fsPath(here)) ? await hashFile(here, { cache: bytes.hashCache }) : undefined;
      if (h && !isHashError(h) && h.blake3 === ext.blake3) {
        entry.availability = "available";
        entry.source = "in place";
        entry.copyFrom = here;
      } else if (h) entry.availability = "differs";
      continue;
    }
    if (repo) {
      for (const uid of ext.consumers) {
        const job = jobs.get(uid);
        const commit = job?.git.commit;
        if (!job || !commit) continue;
        const repoPath = repo.prefix + ext.path;
        if (patched(job).has(repoPath) || (await blobDigest(commit, repoPath)) === ext.blake3) entry.inGit.add(uid);
      }
    }
    const everyConsumerInGit = ext.consumers.every((uid) => entry.inGit.has(uid));
    const copy = everyConsumerInGit ? null : await findCopy(ext, here, bytes);
    entry.copyFrom = copy?.path ?? null;
    if (everyConsumerInGit || copy) {
      entry.availability = "available";
      entry.source = entry.inGit.size > 0 ? "git" : (copy?.source ?? null);
      if (entry.inGit.size > 0 && copy) entry.source = `git, and ${copy.source}`;
    } else if (!repo && !isAbsolutePath(ext.path) && uncheckedWithoutRepo) entry.availability = "unchecked";
    else entry.availability = existsSync(fsPath(here)) ? "differs" : "missing";
  }
  return located;
}

/** A file here holding the digest: the working tree, another recorded path of it, then .roar/objects. */
async function findCopy(
  ext: ExternalInput,
  here: string,
  bytes: LocalBytes,
): Promise<{ path: string; source: string } | null> {
  const candidates = new Map<string, string>([[here, "working tree"]]);
  for (const path of bytes.recordedPaths(ext.blake3)) {
    const abs = absolutePath(path, bytes.root);
    if (!candidates.has(abs)) candidates.set(abs, `copy at ${path}`);
  }
  const existing = [...candidates.keys()].filter((p) => existsSync(fsPath(p)));
  if (existing.length > 0) {
    const hashed = await hashFiles(existing, { cache: bytes.hashCache });
    for (const path of existing) {
      const h = hashed.get(path);
      if (h && !isHashError(h) && h.blake3 === ext.blake3) return { path, source: candidates.get(path) as string };
    }
  }
  const object = bytes.objectFile(ext.blake3);
  return object ? { path: object, source: ".roar/objects" } : null;
}

/**
 * Before `step` runs in the rebuild: every external input it reads holds the recorded bytes (from the checkout,
 * or copied in). Throws a message naming the input otherwise.
 */
export async function placeInputs(
  step: JobWithIo,
  located: readonly LocatedInput[],
  projectDir: string,
): Promise<void> {
  for (const input of located) {
    if (!input.consumers.includes(step.uid) || isAbsolutePath(input.path)) continue;
    const target = absolutePath(input.path, projectDir);
    const now = existsSync(fsPath(target)) ? await hashFile(target) : undefined;
    if (now && !isHashError(now) && now.blake3 === input.blake3) continue;
    if (!input.copyFrom) {
      throw new Error(
        `${input.path} (blake3 ${input.blake3.slice(0, 12)}…) is not at the step's commit and no copy was found`,
      );
    }
    mkdirSync(fsPath(parentDir(target)), { recursive: true });
    copyFileSync(fsPath(input.copyFrom), fsPath(target));
    chmodSync(fsPath(target), 0o644); // objects in .roar/objects are read-only
    const copied = await hashFile(target);
    if (isHashError(copied) || copied.blake3 !== input.blake3) {
      throw new Error(`${input.path}: the copy from ${input.copyFrom} does not hold the recorded bytes any more`);
    }
  }
}
