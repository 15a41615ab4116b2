/**
 * From a tracer event stream to a classification: per-path facts (file-facts.ts) applied in event order — so a
 * file the job wrote and then read is an intermediate, not an input, and a rename-over attributes the write to the
 * final name — and the processes, executables and network endpoints. After the job, or while it runs
 * (IncrementalClassifier). Pure: no filesystem access (the caller resolves O_RDWR opens with a stat check).
 */
import { ForkFlags, type TraceEvent } from "../schema/events.ts";
import { applyFileEvent, FILE_KINDS, FileFacts, type PathFacts } from "./file-facts.ts";

export type { PathFacts, PriorState } from "./file-facts.ts";
export { FileFacts } from "./file-facts.ts";

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
  /** By path, and as `files.list` in the order each first appeared. */
  files: FileFacts;
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

  result(files: FileFacts): Classification {
    return {
      files,
      processes: [...this.processes.values()],
      executables: this.executables,
      network: [...this.network.values()],
    };
  }
}

export function classifyEvents(events: readonly TraceEvent[]): Classification {
  const files = new FileFacts();
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
  private readonly files = new FileFacts();
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

  /** The facts of `path` so far (undefined: none yet, or no longer fed). */
  readonly factsOf = (path: string): PathFacts | undefined => (this.broken ? undefined : this.files.get(path));

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
