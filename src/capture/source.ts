/**
 * The one interface of environment facts: each fact recorded with a job (its git tree, Python, Debian packages,
 * the machine, its GPUs) comes from a CaptureSource, listed once in capture/sources.ts. A source either captures
 * after the trace, from what the trace saw, or also starts when the job does, so that a slow probe (nvidia-smi)
 * runs while the job runs.
 */
import type { TraceEvent } from "../schema/events.ts";
import type { GitState } from "./git.ts";

/** The tree the job ran on, read before it started (the dirty-tree gate): null outside a git repository. */
export interface JobTree {
  git: GitState;
  /** False when the job ran on uncommitted changes (--allow-dirty), even if they made no patch. */
  clean: boolean;
  /** The diff against the commit stored with the job (--allow-dirty), when there was one. */
  patch: { blake3: string; bytes: Uint8Array } | null;
}

/** What a source may look at once the job has ended. */
export interface CaptureContext {
  /** Executables the job ran (absolute paths). */
  executables: ReadonlySet<string>;
  /** Every path the job read. */
  readPaths: readonly string[];
  /** The trace's events in the order they happened. */
  events: readonly TraceEvent[];
  tree: JobTree | null;
}

/**
 * What a source adds to the job: its `git` field, and keys of its `metadata`. Sources' metadata merge in list
 * order, objects one level deep (so `packages` and `runtime` gather the keys of several sources).
 */
export interface Fact {
  git?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** A capture under way, started with the job. */
export interface PendingFact {
  fact: Promise<Fact>;
  /** Stops it when its answer is no longer wanted (the job never ran, or roar failed). */
  cancel(): void;
}

export interface CaptureSource {
  readonly name: string;
  /** Called once the job has really started; when it was, its result stands for capture's. */
  start?(): PendingFact;
  /** After the trace; all sources run in parallel. */
  capture(ctx: CaptureContext): Promise<Fact>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The facts of all sources as one: the job's git field and metadata (see Fact). */
export function mergeFacts(facts: readonly Fact[]): {
  git: Record<string, unknown>;
  metadata: Record<string, unknown>;
} {
  const git: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  for (const fact of facts) {
    Object.assign(git, fact.git);
    for (const [key, value] of Object.entries(fact.metadata ?? {})) {
      const before = metadata[key];
      metadata[key] = isPlainObject(before) && isPlainObject(value) ? { ...before, ...value } : value;
    }
  }
  return { git, metadata };
}
