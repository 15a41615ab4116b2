/**
 * Inputs identified by what the tracer saw when the job opened them, not by a stat after the job: a file the job
 * only read, whose inode, size and times at the open match a usable hash-cache row, is that row's content — the
 * content the job read, whatever happened to the file after. Such a file costs the record step neither a cache
 * lookup nor a hash after the job (only a check that it did not change since, to mark it if it did).
 *
 * The lookups start while the job runs: its trace is decoded as it grows (on a core the job leaves idle, where it
 * has one), and the opens for reading are looked up in batches as they arrive (TraceRequest.observe). The record step looks up
 * the rest (the records a tracer still held when the command ended). Files the cache does not vouch for are
 * hashed as they arrive too, while the job runs (small ones, in this thread: hashWhileRunning): a file whose
 * identity when hashed is the one it was opened with counts as identified like a vouched one, and its cache row
 * is kept. The rest are hashed after the job, without a stat or a lookup of their own: the identity the hashing
 * sees tells whether they changed since the open (SelectedFiles.deferred).
 *
 * The digests vouched for are also looked up among the store's artifacts while the job runs (KnownArtifacts):
 * recording the job then skips writing rows that are there already, unless another roar committed meanwhile.
 */
import type { PathFacts } from "../core/file-facts.ts";
import { type FilterSettings, ignoreReason } from "../core/filters.ts";
import { storedPath } from "../core/project-paths.ts";
import type { KnownArtifacts } from "../core/types.ts";
import { changedSince } from "../hash/file.ts";
import {
  cachedAtOpen,
  type ExtraAlgorithm,
  type FileDigest,
  type HashCacheStore,
  type HashedWhileRunning,
  hashWhileRunning,
  type StatAtOpen,
} from "../hash/index.ts";
import { ChangeCheckList, type NativeQueue } from "../hash/native.ts";
import { OpenFlags, type TraceEvent } from "../schema/events.ts";
import { keepOutOfTopTier } from "../shared/jit.ts";
import { type EarlyIdentity, type FirstOpen, hashedAsOpened, identified, sameStat } from "./early-identity.ts";
import { type FilterScope, scopeContext } from "./record/select.ts";

// The filters run once per file the job opens (tens of thousands a job, while it runs): see shared/jit.ts.
keepOutOfTopTier(ignoreReason);

export type { EarlyIdentity, FirstOpen } from "./early-identity.ts";

/** Which digests the store holds as artifacts (RoarStore.knownArtifacts). */
export interface ArtifactLookup {
  knownArtifacts(digests: readonly string[]): { version: number; present: string[] };
}

/** An open that can only read: no write access, no create, no truncate. */
const WRITE_BITS = OpenFlags.ACCMODE | OpenFlags.CREAT | OpenFlags.TRUNC;

/**
 * Hashed while the job runs: files up to this size, up to this many bytes an observed batch (the thread is
 * roar's only one: it also decodes the trace). Bigger ones wait for the hash pool after the job.
 */
const WHILE_RUNNING_MAX_FILE = 1024 * 1024;
const WHILE_RUNNING_BATCH_BYTES = 16 * 1024 * 1024;

export class EarlyIdentities {
  /**
   * Paths whose first open was seen, with what the cache vouched for (or the hashing found) while the job ran.
   * One map for both: a job's tens of thousands of inputs are in it, and each map of them is megabytes the
   * garbage collector walks.
   */
  private readonly seen = new Map<string, FirstOpen>();
  /** The vouched digests found among the store's artifacts, at the store's data_version. */
  private known: { version: number; digests: Set<string> } = { version: Number.NaN, digests: new Set() };
  /**
   * The inputs identified while the job ran, in the order found (EarlyIdentity.checkedAt is the place of each),
   * for the change check queued after it (checkAhead): listed, and encoded for it, as they are found (a batch at a
   * time, on roar's own CPU while the job runs), not after the job.
   */
  private readonly identified = new ChangeCheckList();
  /** The change check queued by checkAhead: waits for its answer, taken once (null: none queued or failed). */
  private checkedAhead: (() => boolean[]) | boolean[] | null = null;

  constructor(
    private readonly options: {
      cache: HashCacheStore;
      algorithms: readonly ExtraAlgorithm[];
      /** Paths worth looking up (not one the filters always drop: system files, packages…). */
      wanted: (path: string) => boolean;
      artifacts?: ArtifactLookup;
      /** Hashes files the cache does not vouch for while the job runs; null when they wait for the job's end. */
      hashWhileRunning?: (paths: readonly string[]) => Map<string, HashedWhileRunning> | null;
      /** A path as the store keeps it (EarlyIdentity.stored). */
      storedPath?: (path: string) => string;
      /**
       * The artifacts the same step's last run read (RoarStore.priorInputDigests), asked once at the first lookup:
       * when there are some, they are what is known (a re-run reads mostly those), and the lookups ask nothing
       * of the artifacts (an artifact search a row cost roar ~15 ms of its thread during a 20,000-input job).
       */
      priorArtifacts?: () => { version: number; digests: Set<string> } | null;
    },
  ) {}

  /** The prior run's artifacts once asked (null: none, or not asked for: each lookup asks the store). */
  private prior: { version: number; digests: Set<string> } | null | undefined;

  private priorArtifacts(): { version: number; digests: Set<string> } | null {
    if (this.prior === undefined) {
      try {
        this.prior = this.options.priorArtifacts?.() ?? null;
      } catch {
        this.prior = null; // the lookups ask the store themselves, as without it
      }
      if (this.prior) this.known = { version: this.prior.version, digests: this.prior.digests };
    }
    return this.prior;
  }

  /**
   * For TraceRequest.observe: looks up the files newly opened for reading, in one batch. `factsOf`: the trace's
   * classification as fed so far (IncrementalClassifier.factsOf), where each first open is also kept
   * (PathFacts.firstOpen), for the record step (see firstOpenOf).
   */
  readonly observe = (
    events: readonly TraceEvent[],
    from: number,
    factsOf?: (path: string) => PathFacts | undefined,
  ): void => {
    const batch: { path: string; stat: StatAtOpen }[] = [];
    for (let i = from; i < events.length; i++) {
      const e = events[i] as TraceEvent;
      if (e.kind !== "open" || this.seen.has(e.path)) continue;
      // Only a path's first open counts, as its first read does in classify (an earlier write makes it no input).
      const lookUp = e.stat !== null && (e.flags & WRITE_BITS) === 0 && this.options.wanted(e.path);
      const first: FirstOpen = { stat: lookUp ? e.stat : null, found: undefined };
      this.seen.set(e.path, first);
      const facts = factsOf?.(e.path);
      if (facts !== undefined) facts.firstOpen = first;
      if (lookUp && e.stat) batch.push({ path: e.path, stat: e.stat });
    }
    const paths: string[] = [];
    const stats: StatAtOpen[] = [];
    this.lookUp(
      batch,
      (path, found) => {
        const entry = this.seen.get(path);
        if (!entry) return;
        entry.found = found;
        found.checkedAt = this.identified.count + paths.length;
        paths.push(path);
        stats.push(found.stat);
      },
      true,
    );
    this.identified.add(paths, stats);
  };

  /**
   * Of `files` (inputs the job only read, each with its stat at the open), what the cache vouches for, by index
   * (undefined: not vouched for): from the lookups made while the job ran when the stat is the same, the others
   * looked up now. An array, not a map: tens of thousands of inputs a job, each read once by index.
   */
  vouched(
    /** The classifier's facts of each (its path, and its stat at the open, never null here): no object made a file. */
    files: readonly { path: string; openStat: StatAtOpen | null }[],
    /** Each file's firstOpen, when the caller has them (spares a lookup a file). */
    opens?: readonly (FirstOpen | undefined)[],
  ): (EarlyIdentity | undefined)[] {
    const out = new Array<EarlyIdentity | undefined>(files.length);
    const rest: { path: string; stat: StatAtOpen }[] = [];
    const restAt = new Map<string, number>();
    for (let i = 0; i < files.length; i++) {
      const f = files[i] as { path: string; openStat: StatAtOpen | null };
      const stat = f.openStat;
      if (stat === null) continue;
      const seen = opens ? opens[i] : this.seen.get(f.path);
      const early = seen?.found;
      if (early && sameStat(early.stat, stat)) {
        out[i] = early;
        continue;
      }
      // Looked up with this very stat while the job ran, and not vouched for: no need to ask again.
      if (!early && seen?.stat && sameStat(seen.stat, stat)) continue;
      restAt.set(f.path, i);
      rest.push({ path: f.path, stat });
    }
    this.lookUp(rest, (path, found) => {
      const i = restAt.get(path);
      if (i !== undefined) out[i] = found;
    });
    return out;
  }

  /** Looks up `files` (and hashes the rest, with `hash`): each one identified goes to `take`. */
  private lookUp(
    files: readonly { path: string; stat: StatAtOpen }[],
    take: (path: string, found: EarlyIdentity) => void,
    hash = false,
  ): void {
    if (files.length === 0) return;
    const { cache } = this.options;
    // Known from the prior run's input set when there is one (see priorArtifacts): nothing to ask here.
    const artifacts = this.priorArtifacts() ? undefined : this.options.artifacts;
    // Where the cache can tell in the same lookup which of the digests it vouches for are artifacts (the store's
    // own cache), it does: one search a row in the same statement, not a second lookup of the digests. The
    // store's version is read first, as knownArtifacts reads it.
    const joined = artifacts !== undefined && cache.rowsOfInodes !== undefined;
    const present: string[] = [];
    const version = joined ? artifacts.knownArtifacts([]).version : Number.NaN;
    const vouched = cachedAtOpen(files, {
      cache,
      algorithms: this.options.algorithms,
      onArtifact: joined ? (digest) => present.push(digest) : null,
    });
    const digests: string[] = [];
    for (const f of files) {
      const digest = vouched.get(f.path);
      if (!digest) continue;
      take(f.path, identified(f.stat, digest, f.path, this.options.storedPath));
      if (!joined && artifacts && !this.known.digests.has(digest.blake3)) digests.push(digest.blake3);
    }
    if (hash) {
      // Not looked up among the artifacts: content the cache had never seen is seldom recorded (and if it is, the
      // job's insert finds its row then).
      for (const { path, found } of this.hashUnvouched(files, vouched)) take(path, found);
    }
    const found = joined ? { version, present } : digests.length > 0 ? artifacts?.knownArtifacts(digests) : undefined;
    if (found) {
      // Another connection committed since the last lookup: what was known then may be gone.
      if (found.version !== this.known.version) this.known = { version: found.version, digests: new Set() };
      for (const digest of found.present) this.known.digests.add(digest);
    }
  }

  /** The files of `files` the cache did not vouch for, hashed now: those whose identity is the one opened. */
  private hashUnvouched(
    files: readonly { path: string; stat: StatAtOpen }[],
    vouched: ReadonlyMap<string, FileDigest>,
  ): { path: string; found: EarlyIdentity }[] {
    const out: { path: string; found: EarlyIdentity }[] = [];
    const hash = this.options.hashWhileRunning;
    if (!hash) return out;
    const rest: { path: string; stat: StatAtOpen }[] = [];
    let bytes = 0;
    for (const f of files) {
      // Empty at the open: maybe not a regular file (a fifo, a device report size 0), which opening now could
      // disturb (a writer waiting for a reader): left to after the job, where an empty file costs nothing.
      if (vouched.has(f.path) || f.stat.size === 0 || f.stat.size > WHILE_RUNNING_MAX_FILE) continue;
      if (bytes + f.stat.size > WHILE_RUNNING_BATCH_BYTES) break;
      bytes += f.stat.size;
      rest.push(f);
    }
    if (rest.length === 0) return out;
    const hashed = hash(rest.map((f) => f.path));
    if (!hashed) {
      this.options.hashWhileRunning = undefined; // not here (no native kernel, extra algorithms): after the job
      return out;
    }
    for (const f of rest) {
      const h = hashed.get(f.path);
      if (h && hashedAsOpened(h.identity, f.stat))
        out.push({ path: f.path, found: identified(f.stat, h.digest, f.path, this.options.storedPath) });
    }
    return out;
  }

  /** How many inputs were identified while the job ran (the change check checkAhead would queue). */
  identifiedCount(): number {
    return this.identified.count;
  }

  /**
   * Queues the change check of every input identified so far on `queue`'s thread, to run while the trace's last
   * records are read and the record step filters it: changedSinceOpen then reads its answers (and checks the
   * inputs identified after, itself). Called once, when the command has ended.
   */
  checkAhead(queue: Pick<NativeQueue, "changedSince">): void {
    this.checkedAhead = this.identified.count > 0 ? queue.changedSince(this.identified) : null;
  }

  /** Whether checkAhead was called (its answers may still be coming). */
  checkQueued(): boolean {
    return this.checkedAhead !== null;
  }

  /**
   * Whether each of these inputs (`found[i]` identifies `paths[i]`) is no longer the file of the size and mtime
   * it was opened with: answered by the check checkAhead queued where it covered one, the rest checked now.
   */
  changedSinceOpen(paths: readonly string[], found: readonly EarlyIdentity[]): boolean[] {
    const ahead = this.takeAhead();
    const out = new Array<boolean>(paths.length);
    const rest: number[] = [];
    for (let i = 0; i < paths.length; i++) {
      const at = (found[i] as EarlyIdentity).checkedAt;
      // Identified after the check was queued (the stream's last records, read once the command ended): here.
      if (ahead !== null && at >= 0 && at < ahead.length) out[i] = ahead[at] as boolean;
      else rest.push(i);
    }
    if (rest.length > 0) {
      const now = changedSince(
        rest.map((i) => paths[i] as string),
        rest.map((i) => (found[i] as EarlyIdentity).stat),
      );
      for (let k = 0; k < rest.length; k++) out[rest[k] as number] = now[k] as boolean;
    }
    return out;
  }

  private takeAhead(): boolean[] | null {
    const ahead = this.checkedAhead;
    if (typeof ahead !== "function") return ahead;
    try {
      this.checkedAhead = ahead();
    } catch {
      this.checkedAhead = null; // checked here instead
    }
    return this.checkedAhead;
  }

  /** What was seen of `path`'s first open while the job ran (undefined: it was not seen). */
  firstOpen(path: string): FirstOpen | undefined {
    return this.seen.get(path);
  }

  /**
   * firstOpen of a path of the classification, where observe kept it with the path's facts (no lookup), else
   * from the map (facts classified anew after the job, or a path first seen after the job ended).
   */
  firstOpenOf(f: PathFacts): FirstOpen | undefined {
    return (f.firstOpen as FirstOpen | undefined) ?? this.seen.get(f.path);
  }

  /**
   * Whether the filters' path rules keep a path (its firstOpen) as an input: a first open for reading was looked
   * up, which only a path they keep is (see observe). Its reason after the job is then readReasonInContext's.
   */
  keptByPathRules(open: FirstOpen | undefined): boolean {
    return open?.stat != null;
  }

  /** The digests vouched for that the store held as artifacts, for insertJob (see KnownArtifacts). */
  knownArtifacts(): KnownArtifacts {
    return this.known;
  }
}

/** Early identities for a job of this project: every path the filters would keep as an input is looked up. */
export function earlyIdentitiesFor(options: {
  cache: HashCacheStore;
  artifacts?: ArtifactLookup;
  algorithms: readonly ExtraAlgorithm[];
  filters: FilterSettings;
  scope: Pick<FilterScope, "projectRoot" | "roarDir" | "privatePaths">;
  /** The artifacts the same step's last run read (EarlyIdentities' priorArtifacts). */
  priorArtifacts?: () => { version: number; digests: Set<string> } | null;
}): EarlyIdentities {
  const ctx = scopeContext(options.scope);
  return new EarlyIdentities({
    cache: options.cache,
    algorithms: options.algorithms,
    artifacts: options.artifacts,
    priorArtifacts: options.priorArtifacts,
    wanted: (path) => ignoreReason(path, "read", options.filters, ctx) === null,
    hashWhileRunning: (paths) => hashWhileRunning(paths, { cache: options.cache, algorithms: options.algorithms }),
    storedPath: (path) => storedPath(path, options.scope.projectRoot),
  });
}
