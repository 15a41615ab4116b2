/**
 * From a tracer event stream to per-path facts: what the job read, wrote, created, deleted — in event order,
 * so a file the job wrote and then read is an intermediate, not an input, and a rename-over attributes the
 * write to the final name. Pure: no filesystem access (the caller resolves O_RDWR opens with a stat check).
 */
import { ForkFlags, LinkFlags, OpenFlags, type OpenStat, type TraceEvent, UnlinkFlags } from "../schema/events.ts";

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
}

export interface PriorState {
  stat: OpenStat;
  mode: number;
  /** File name of the copy of its bytes in the run's capture directory, when kept. */
  copy: string | null;
}

export interface ProcessFacts {
  pid: number;
  ppid: number | null;
  argv: string[];
  exe: string | null;
  exitCode: number | null;
  signal: number | null;
}

export interface NetworkEndpoint {
  op: "connect" | "accept";
  /** "1.2.3.4:443", "[::1]:8080". */
  address: string;
}

export interface Classification {
  files: Map<string, PathFacts>;
  processes: ProcessFacts[];
  /** Executables run (absolute paths), for interpreter and package detection. */
  executables: Set<string>;
  /** Network endpoints the job connected to or accepted from, each once, in order. */
  network: NetworkEndpoint[];
}

/** Written (last) by a process that was killed by a signal or crashed: its content may be cut short. */
export function writtenByKilledProcess(f: PathFacts, processes: ReadonlyMap<number, ProcessFacts>): boolean {
  for (const pid of f.writers) if (processes.get(pid)?.signal != null) return true;
  return false;
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

function facts(files: Map<string, PathFacts>, path: string): PathFacts {
  let f = files.get(path);
  if (!f) {
    f = {
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
    };
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

/** Events in global order: (ts, pid, seq). */
const before = (a: TraceEvent, b: TraceEvent) => a.ts - b.ts || a.pid - b.pid || a.seq - b.seq;
/** The last ordering made, by the array it was made from: classify and package detection both ask for it. */
const ordered = new WeakMap<readonly TraceEvent[], readonly TraceEvent[]>();

/**
 * The events in the order they happened (time, then process, then each process's own sequence). A backend's
 * stream is usually in order already (a single tracer writes as it goes): one pass checks that before sorting.
 */
export function orderEvents(events: readonly TraceEvent[]): readonly TraceEvent[] {
  const known = ordered.get(events);
  if (known) return known;
  let inOrder = true;
  for (let i = 1; i < events.length && inOrder; i++)
    inOrder = before(events[i - 1] as TraceEvent, events[i] as TraceEvent) <= 0;
  const result = inOrder ? events : [...events].sort(before);
  ordered.set(events, result);
  return result;
}

/** The kinds of event that change what is known of a file (the others are about processes and the network). */
const FILE_KINDS: ReadonlySet<TraceEvent["kind"]> = new Set([
  "open",
  "truncate",
  "prewrite",
  "rename",
  "link",
  "unlink",
]);

/** Facts about processes, executables and network endpoints, from the events that are not about files. */
class ProcessPass {
  private readonly processes = new Map<number, ProcessFacts>();
  readonly executables = new Set<string>();
  private readonly network = new Map<string, NetworkEndpoint>();

  private proc(pid: number): ProcessFacts {
    let p = this.processes.get(pid);
    if (!p) {
      p = { pid, ppid: null, argv: [], exe: null, exitCode: null, signal: null };
      this.processes.set(pid, p);
    }
    return p;
  }

  apply(e: TraceEvent): void {
    switch (e.kind) {
      case "net":
        this.network.set(`${e.op} ${e.address}`, { op: e.op, address: e.address });
        break;
      case "proc_start": {
        const p = this.proc(e.pid);
        p.ppid = e.ppid;
        p.argv = e.argv;
        p.exe = e.exe;
        this.executables.add(e.exe);
        // The path it was started by, when absolute: a venv's `bin/python` is a symlink the exe resolves away.
        if (e.argv[0]?.startsWith("/") && e.argv[0] !== e.exe) this.executables.add(e.argv[0]);
        break;
      }
      case "exec":
        this.executables.add(e.path);
        break;
      case "fork":
        if ((e.flags & ForkFlags.THREAD) === 0) this.proc(e.child).ppid = e.pid;
        break;
      case "exit": {
        const p = this.proc(e.pid);
        p.exitCode = e.code;
        p.signal = e.signal;
        break;
      }
      default:
        break;
    }
  }

  result(files: Map<string, PathFacts>): Classification {
    return {
      files,
      processes: [...this.processes.values()],
      executables: this.executables,
      network: [...this.network.values()],
    };
  }
}

/** Applies one file event, in event order, to the facts of the paths it touches. */
function applyFileEvent(files: Map<string, PathFacts>, e: TraceEvent): void {
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

export function classifyEvents(events: readonly TraceEvent[]): Classification {
  const files = new Map<string, PathFacts>();
  const processes = new ProcessPass();
  for (const e of orderEvents(events)) {
    if (FILE_KINDS.has(e.kind)) applyFileEvent(files, e);
    else processes.apply(e);
  }
  return processes.result(files);
}

/**
 * classifyEvents, its file facts built while the job runs: a backend's stream is fed as it is decoded (`add`,
 * TraceRequest.observe), and while its file events arrive in order they are applied then, on a core the job leaves
 * idle. After the job, `classify` takes the final events (the streams merged, records recovered): when their file
 * events in order begin with exactly the ones applied (the same events, in the same order), only the rest are
 * applied; otherwise (events out of order, another stream's file events in between) it classifies them all anew.
 * Either way the result is classifyEvents' (pure: the caller feeds it).
 */
export class IncrementalClassifier {
  private readonly files = new Map<string, PathFacts>();
  /** The file events applied, in order. */
  private readonly applied: TraceEvent[] = [];
  /** An event came out of order (or feeding failed): the final events are classified anew. */
  private broken = false;
  /** Whether `classify` used the facts built while the job ran (not classifying anew). */
  reused = false;

  /** Feeds events[from..] (a stream as it grows): applies their file events while they stay in order. */
  readonly add = (events: readonly TraceEvent[], from: number): void => {
    if (this.broken) return;
    try {
      let last = this.applied[this.applied.length - 1];
      for (let i = from; i < events.length; i++) {
        const e = events[i] as TraceEvent;
        if (!FILE_KINDS.has(e.kind)) continue;
        if (last !== undefined && before(last, e) > 0) {
          this.broken = true;
          return;
        }
        applyFileEvent(this.files, e);
        this.applied.push(e);
        last = e;
      }
    } catch {
      this.broken = true;
    }
  };

  /** The classification of the final events (the same as classifyEvents(events)). */
  classify(events: readonly TraceEvent[]): Classification {
    if (this.broken) return classifyEvents(events);
    const processes = new ProcessPass();
    const ordered = orderEvents(events);
    let matched = 0;
    const rest: TraceEvent[] = [];
    for (const e of ordered) {
      if (!FILE_KINDS.has(e.kind)) processes.apply(e);
      else if (matched < this.applied.length) {
        if (e !== this.applied[matched]) return classifyEvents(events);
        matched++;
      } else rest.push(e);
    }
    if (matched < this.applied.length) return classifyEvents(events);
    this.broken = true; // the facts are handed out: never fed again
    this.reused = true;
    for (const e of rest) applyFileEvent(this.files, e);
    return processes.result(this.files);
  }
}
