/**
 * What a trace says about each path, event by event: read, written, created, deleted, renamed or linked into place,
 * and its state before the job changed it. Applied in event order by classify.ts (after the job, or while it runs).
 * Pure: no filesystem access.
 */
import { LinkFlags, OpenFlags, type OpenStat, type TraceEvent, UnlinkFlags } from "../schema/events.ts";

export interface PathFacts {
  path: string;
  /** The job read content that existed before it touched the file. */
  read: boolean;
  /** The job wrote (created, truncated, renamed or linked into place) this path. */
  written: boolean;
  /** Opened read-write without other evidence of writing: decided by comparing `openStat` with the file now. */
  maybeWritten: boolean;
  /** A file that existed before the job and was removed (or renamed away) by it. */
  deleted: boolean;
  /** Stat at the first read open (for "changed during the run" checks and cache lookups). */
  openStat: OpenStat | null;
  /**
   * The file as it was before the job first changed it (a PREWRITE capture): its stat, mode, and the name of
   * the kept copy of its bytes. Null when the job never changed a file that existed before it.
   */
  before: PriorState | null;
  /** Written by the job and did not exist before it (no capture of an earlier state, not read first). */
  created: boolean;
  /** The job made this path a symbolic link (symlink(2), or renamed a link it made into place). */
  symlink: boolean;
  /** The processes that wrote, truncated, renamed or linked it into place (a rename carries its writers). */
  writers: ReadonlySet<number>;
  /**
   * Not a fact of the trace: a slot where the run layer keeps what it learnt of the path's first open while the
   * job ran (run/early-identities.ts FirstOpen), so that the record step finds it with the path's facts rather
   * than by a lookup a file. Never read or written here.
   */
  firstOpen: unknown;
}

export interface PriorState {
  stat: OpenStat;
  mode: number;
  /** File name of the copy of its bytes in the run's capture directory, when kept. */
  copy: string | null;
}

/**
 * A trace's files by path, and as a list in the order each first appeared (the map's own order): the loops over
 * every file of a job read the list, an indexed array, rather than the map's iterator (~50 ns an element in the
 * JIT's lowest tiers, where those once-a-job loops run; four of them over the io job's 22,000 files). Paths are
 * only ever added (facts()), never removed nor replaced.
 */
export class FileFacts extends Map<string, PathFacts> {
  readonly list: PathFacts[] = [];

  /** A FileFacts of these (the Map constructor would call `set` before `list` exists). */
  static of(facts: Iterable<PathFacts>): FileFacts {
    const files = new FileFacts();
    for (const f of facts) files.set(f.path, f);
    return files;
  }

  override set(path: string, facts: PathFacts): this {
    if (!this.has(path)) this.list.push(facts);
    return super.set(path, facts);
  }
}

/**
 * Per files map: every directory that has a known path below it (for directory renames). Built at the first
 * directory rename of a trace and kept up to date from then on: most traces rename no directory, and keeping it
 * for every path cost a big job ~1 µs a file.
 */
const knownDirs = new WeakMap<Map<string, PathFacts>, Set<string>>();

function addAncestors(dirs: Set<string>, path: string): void {
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const dir = path.slice(0, i);
    if (dirs.has(dir)) break; // its ancestors are in already
    dirs.add(dir);
  }
}

function dirsOf(files: Map<string, PathFacts>): Set<string> {
  let dirs = knownDirs.get(files);
  if (!dirs) {
    dirs = new Set();
    for (const path of files.keys()) addAncestors(dirs, path);
    knownDirs.set(files, dirs);
  }
  return dirs;
}

/** The writers of a file no one wrote: shared, never added to (most files of a job are only read). */
const NO_WRITERS: ReadonlySet<number> = new Set();

function addWriter(f: PathFacts, pid: number): void {
  if (f.writers === NO_WRITERS) f.writers = new Set([pid]);
  else (f.writers as Set<number>).add(pid);
}

/** What is known of a path before any event about it: nothing. */
export function unknownPath(path: string): PathFacts {
  return {
    path,
    read: false,
    written: false,
    maybeWritten: false,
    deleted: false,
    openStat: null,
    before: null,
    created: false,
    symlink: false,
    writers: NO_WRITERS,
    firstOpen: undefined,
  };
}

function facts(files: Map<string, PathFacts>, path: string): PathFacts {
  let f = files.get(path);
  if (!f) {
    f = unknownPath(path);
    files.set(path, f);
    const dirs = knownDirs.get(files);
    if (dirs) addAncestors(dirs, path);
  }
  return f;
}

/**
 * Applies a directory rename to the files known under `from`: each moves to the same place under `to`, as a
 * renamed file does (written at its new name; a file that existed before the job is gone from the old one).
 * Returns false when no known file lies under `from` (then it is treated as a file rename).
 */
function moveTree(files: Map<string, PathFacts>, from: string, to: string): boolean {
  // Only a directory with known files below it is scanned: a job renaming many files stays linear.
  if (!dirsOf(files).has(from)) return false;
  const prefix = `${from}/`;
  const inside = [...files.keys()].filter((p) => p.startsWith(prefix));
  for (const oldPath of inside) {
    const old = files.get(oldPath);
    // Files already gone (temporaries the job removed, inputs it deleted) do not move.
    if (!old || old.deleted || !(old.written || old.read || old.maybeWritten)) continue;
    const moved = facts(files, to + oldPath.slice(from.length));
    // New only when the job made the content: a file that existed before only changed its name.
    moved.created = old.created && !moved.read && !moved.before;
    moved.symlink = old.symlink;
    old.symlink = false;
    for (const pid of old.writers) addWriter(moved, pid);
    moved.written = true;
    moved.deleted = false;
    moved.maybeWritten = false;
    if (!old.created) old.deleted = true;
    old.written = false;
    old.created = false;
    old.maybeWritten = false;
  }
  return true;
}

/** The job writes `f` (creates, truncates, renames or links into place): new if nothing says it existed. */
function markWritten(f: PathFacts): void {
  if (!f.written && !f.read && !f.before && !f.deleted) f.created = true;
  f.written = true;
  f.deleted = false;
}

/** The kinds of event that change what is known of a file (the others are about processes and the network). */
export const FILE_KINDS: ReadonlySet<TraceEvent["kind"]> = new Set([
  "open",
  "truncate",
  "prewrite",
  "rename",
  "link",
  "unlink",
]);

/** Applies one file event, in event order, to the facts of the paths it touches. */
export function applyFileEvent(files: Map<string, PathFacts>, e: TraceEvent): void {
  switch (e.kind) {
    case "open": {
      const f = facts(files, e.path);
      const mode = e.flags & OpenFlags.ACCMODE;
      const truncates = (e.flags & OpenFlags.TRUNC) !== 0;
      // Did this open create the file? ptrace stats before the open (null = did not exist); preload stats the
      // new descriptor, so an exclusive create (mkstemp) or an empty file after O_CREAT counts as new too.
      const creates = (e.flags & OpenFlags.CREAT) !== 0;
      const createdNew = creates && (e.stat === null || (e.flags & OpenFlags.EXCL) !== 0 || e.stat.size === 0);
      const reads = mode === 0 || (mode === OpenFlags.RDWR && !truncates && !createdNew);
      // A read counts only when the content predates the job's own writes.
      if (reads && !f.written && !f.read) {
        f.read = true;
        f.openStat = e.stat;
      }
      if (mode === OpenFlags.WRONLY || truncates || (createdNew && mode !== 0)) {
        markWritten(f);
        f.symlink = false;
        addWriter(f, e.pid);
      } else if (mode === OpenFlags.RDWR) {
        f.maybeWritten = true;
        addWriter(f, e.pid);
      }
      break;
    }
    case "truncate": {
      const f = facts(files, e.path);
      markWritten(f);
      addWriter(f, e.pid);
      break;
    }
    case "prewrite": {
      // Only the state from before the job's own first change counts (a file it created and changes again
      // is captured too, by a later process).
      const f = facts(files, e.path);
      if (!f.written && !f.deleted && !f.before && !f.maybeWritten)
        f.before = { stat: e.stat, mode: e.mode, copy: e.copy };
      break;
    }
    case "rename": {
      // A directory renamed into place (tmp dir → final name): every file known under it moves along.
      if (!files.has(e.from) && moveTree(files, e.from, e.to)) break;
      const from = facts(files, e.from);
      const to = facts(files, e.to);
      // What was at `to` before is replaced; the content moves with the name.
      const madeByJob = from.created;
      markWritten(to);
      to.symlink = from.symlink;
      from.symlink = false;
      to.writers = new Set([...from.writers, e.pid]);
      // New only when the job made the content: a file that existed before only changed its name.
      to.created &&= madeByJob;
      if (!from.created) from.deleted = true; // a file that existed before the job moved away
      from.written = false;
      from.created = false;
      from.maybeWritten = false;
      break;
    }
    case "link": {
      const to = facts(files, e.to);
      const symlink = (e.flags & LinkFlags.SYMLINK) !== 0;
      // A symlink is a new file of its own; a hard link names content that `from` already has.
      const madeByJob = symlink || files.get(e.from)?.created === true;
      markWritten(to);
      to.created &&= madeByJob;
      to.symlink = symlink;
      to.writers = new Set([e.pid]);
      break;
    }
    case "unlink": {
      if ((e.flags & UnlinkFlags.DIR) !== 0) break;
      const f = facts(files, e.path);
      f.symlink = false;
      if (f.written && f.created) {
        // The job's own temporary file: it leaves no trace.
        f.written = false;
        f.created = false;
        f.maybeWritten = false;
      } else if (f.written) {
        // A file that existed before the job, rewritten and then removed: gone, as if deleted.
        f.written = false;
        f.maybeWritten = false;
        f.deleted = true;
      } else {
        f.deleted = true;
        f.maybeWritten = false;
      }
      break;
    }
    default:
      break;
  }
}
