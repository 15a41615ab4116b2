/**
 * The session's DAG with the changes roar did not make: what `status`, `dag`, `rerun` and `run @N` judge
 * staleness by. Looks at the disk and at git (core/dag.ts stays pure):
 *
 * - a file a current job read now holds other bytes (and no step of the session wrote those bytes there): a stat
 *   first, a hash (through the hash cache, so an unchanged file costs a stat and a lookup) only when its size is
 *   still the recorded one; a missing file is not a change (status reports missing outputs);
 * - a tracked file of the repository it read (its script, a module, listed with the job as `codeFiles`) differs
 *   between the job's commit and HEAD (committed), or between HEAD and the working tree (not committed).
 */

import { statSync } from "node:fs";
import { changedSince, readGitState } from "../capture/git.ts";
import { buildDag, currentJobs, type Dag, type ExternalChange } from "../core/dag.ts";
import { IoFlags } from "../core/io-flags.ts";
import { storedAbsolute, storedDir, storedDirAbsolute } from "../core/project-paths.ts";
import type { IoRecord, JobSummary } from "../core/types.ts";
import { fsPath, parentDir } from "../shared/paths.ts";
import { mark } from "../shared/timing.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import type { RoarStore } from "../store/store.ts";

/** The session's DAG, stale steps judged with the changes found on disk and in git. */
export async function loadFreshDag(store: RoarStore, project: Project, sessionId: number): Promise<Dag> {
  mark("start");
  const jobs = store.sessionJobSummaries(sessionId);
  const io = store.sessionIoUnordered(sessionId);
  mark("dag: load");
  const current = currentJobs(jobs);
  const changes = new Map<string, ExternalChange[]>();
  const add = (uid: string, change: ExternalChange) => {
    const list = changes.get(uid);
    if (list) list.push(change);
    else changes.set(uid, [change]);
  };
  for (const [uid, list] of await changedInputs(store, project, current, io)) for (const c of list) add(uid, c);
  for (const [uid, list] of changedCode(store, project, sessionId, current)) for (const c of list) add(uid, c);
  mark("dag: freshness");
  const dag = buildDag({ jobs, io, changes });
  mark("dag: build");
  return dag;
}

type SessionIo = ReadonlyMap<string, { inputs: readonly IoRecord[]; outputs: readonly IoRecord[] }>;

/** (b): inputs of current jobs whose file now holds other bytes than the job read, and no step put there. */
async function changedInputs(
  store: RoarStore,
  project: Project,
  current: readonly JobSummary[],
  io: SessionIo,
): Promise<Map<string, ExternalChange[]>> {
  // By stored path (the row's own string): absolute paths are built only for files whose directory exists.
  const wanted = new Map<string, { uid: string; input: IoRecord }[]>();
  for (const job of current) {
    for (const input of io.get(job.uid)?.inputs ?? []) {
      // Read then rewritten by the job itself: what is there now is its own output.
      if (!input.blake3 || (input.flags & IoFlags.READ_WRITE) !== 0) continue;
      const list = wanted.get(input.path);
      if (list) list.push({ uid: job.uid, input });
      else wanted.set(input.path, [{ uid: job.uid, input }]);
    }
  }
  if (wanted.size === 0) return new Map();
  // Every digest a job of the session wrote at a path read: such content on disk is roar's doing (rule (a)).
  const written = new Map<string, Set<string>>();
  for (const entry of io.values()) {
    for (const o of entry.outputs) {
      if (!o.blake3 || !wanted.has(o.path)) continue;
      const set = written.get(o.path);
      if (set) set.add(o.blake3);
      else written.set(o.path, new Set([o.blake3]));
    }
  }
  const out = new Map<string, ExternalChange[]>();
  const report = (uid: string, input: IoRecord, now: string | null) => {
    if (now !== null && written.get(input.path)?.has(now)) return;
    const change: ExternalChange = { cause: "input", path: input.path, blake3: input.blake3 as string, current: now };
    const list = out.get(uid);
    if (list) list.push(change);
    else out.set(uid, [change]);
  };
  // A directory is checked once, and only when its parent exists: every file of a missing tree is missing
  // without a stat of its own (sessions of thousands of steps whose files are gone stay cheap).
  const dirExists = new Map<string, boolean>([["/", true]]);
  const existsDir = (dir: string): boolean => {
    let known = dirExists.get(dir);
    if (known === undefined) {
      known = existsDir(parentDir(dir)) && statSync(fsPath(dir), { throwIfNoEntry: false })?.isDirectory() === true;
      dirExists.set(dir, known);
    }
    return known;
  };
  // The same by stored directory, each looked up once.
  const storedDirExists = new Map<string, boolean>();
  const toHash: { abs: string; path: string }[] = [];
  for (const [path, readers] of wanted) {
    const dir = storedDir(path);
    let exists = storedDirExists.get(dir);
    if (exists === undefined) {
      exists = existsDir(storedDirAbsolute(dir, project.root));
      storedDirExists.set(dir, exists);
    }
    if (!exists) continue;
    const abs = storedAbsolute(path, project.root);
    const st = statSync(fsPath(abs), { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    const sizeDiffers = readers.filter((r) => r.input.size !== null && r.input.size !== st.size);
    // Another size: changed, no hash needed — unless a step of the session wrote a file there (then it may be that).
    if (sizeDiffers.length === readers.length && !written.has(readers[0]?.input.path ?? "")) {
      for (const r of readers) report(r.uid, r.input, null);
    } else toHash.push({ abs, path });
  }
  if (toHash.length === 0) return out;
  // Loaded on demand: the hash pool is costly to start, and most views have nothing to hash.
  const { hashFiles, isHashError } = await import("../hash/index.ts");
  const hashed = await hashFiles(
    toHash.map((f) => f.abs),
    { cache: store.hashCache() },
  );
  for (const { abs, path } of toHash) {
    const h = hashed.get(abs);
    if (!h || isHashError(h)) continue;
    for (const r of wanted.get(path) ?? []) if (h.blake3 !== r.input.blake3) report(r.uid, r.input, h.blake3);
  }
  return out;
}

/** (c): repository files current jobs read that changed in git since their commit, or are modified now. */
function changedCode(
  store: RoarStore,
  project: Project,
  sessionId: number,
  current: readonly JobSummary[],
): Map<string, ExternalChange[]> {
  const out = new Map<string, ExternalChange[]>();
  const codeFiles = store.sessionCodeFiles(sessionId);
  const withFiles = current.filter((j) => (codeFiles.get(j.uid)?.files.length ?? 0) > 0);
  if (withFiles.length === 0) return out;
  const gitRoot = findGitRoot(project.root);
  if (!gitRoot) return out;
  let state: ReturnType<typeof readGitState>;
  try {
    state = readGitState(gitRoot);
  } catch {
    return out;
  }
  // Paths git reports are relative to the repository; codeFiles to the project.
  const prefix = project.root === gitRoot ? "" : `${project.root.slice(gitRoot.length + 1)}/`;
  const toProject = (paths: Iterable<string>) => {
    const set = new Set<string>();
    for (const p of paths) if (p.startsWith(prefix)) set.add(p.slice(prefix.length));
    return set;
  };
  const uncommitted = toProject(state.changes.filter((c) => c.tracked).map((c) => c.path));
  const sinceCommit = new Map<string, Set<string> | null>();
  for (const job of withFiles) {
    const { commit, files } = codeFiles.get(job.uid) as { commit: string | null; files: string[] };
    if (!commit) continue;
    let committed = sinceCommit.get(commit);
    if (committed === undefined) {
      const changed = commit === state.commit ? new Set<string>() : changedSince(gitRoot, commit);
      committed = changed && toProject(changed);
      sinceCommit.set(commit, committed);
    }
    const list: ExternalChange[] = [];
    for (const path of files) {
      if (committed?.has(path)) list.push({ cause: "code", path, commit, committed: true });
      else if (uncommitted.has(path)) list.push({ cause: "code", path, commit, committed: false });
    }
    if (list.length > 0) out.set(job.uid, list);
  }
  return out;
}
