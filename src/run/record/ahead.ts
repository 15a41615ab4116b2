/**
 * Record work queued as soon as the trace is classified, on a native thread of its own (hash/native.ts
 * NativeQueue): it runs on the core the job has left while this thread filters the trace. The change check of
 * the inputs identified while the job ran (EarlyIdentities.checkAhead, queued when the command ended, its answers
 * taken last, just before the job is stored: record.ts markChangedDuringRun), and the hashing of the small files
 * the job created or rewrote (taken by hash.ts: the queue's thread does it first). Whatever is not done here is
 * done there.
 */
import type { Classification, PathFacts } from "../../core/classify.ts";
import { type FilterSettings, ignoreReason } from "../../core/filters.ts";
import type { FileHashOutcome } from "../../hash/index.ts";
import { loadNativeBlake3, type NativeQueue } from "../../hash/native.ts";
import type { EarlyIdentities } from "../early-identities.ts";
import { type FilterScope, scopeContext } from "./select.ts";

/**
 * Written files are hashed ahead up to this size each and this many bytes in all (read whole, by the queue's thread
 * and by this one once it takes them): more than that is hashed after, big files on every core.
 */
const AHEAD_MAX_FILE = 1024 * 1024;
const AHEAD_MAX_TOTAL = 16 * 1024 * 1024;

export interface RecordAhead {
  /** The written files hashed ahead, by path (waits for them; empty when none were queued or it failed). */
  hashedOutputs(): ReadonlyMap<string, FileHashOutcome>;
  /** Ends the queue: work still queued is finished first. */
  close(): void;
}

/**
 * The change check queued the moment the command ends (TraceRequest.ended), before the trace's last records are
 * read: its ~20,000 stats for a big job then run beside that reading and the classifying, not after them. Null when
 * nothing was identified, or there is no native kernel or thread (the record step checks them itself).
 */
export function queueChangeCheck(early: Pick<EarlyIdentities, "checkAhead" | "identifiedCount">): NativeQueue | null {
  if (early.identifiedCount() === 0) return null;
  const queue = loadNativeBlake3().kernel?.queue() ?? null;
  if (queue) early.checkAhead(queue);
  return queue;
}

/**
 * Queues the work (null: nothing to queue, no native kernel or no thread for it; everything is done in the record
 * steps). Only files the job wrote are hashed ahead, created or rewritten (a cache row of what a rewritten one held
 * is stale: only its extra digests could carry over to the same content), and only when no extra digest is asked
 * for. `queue`: the one queueChangeCheck made, if any (this takes it over, and closes it).
 */
export function startAhead(
  classification: Classification,
  options: {
    early?: Pick<EarlyIdentities, "checkAhead" | "identifiedCount" | "checkQueued">;
    queue?: NativeQueue | null;
    /** False when extra algorithms are asked for (the native kernel computes BLAKE3 only). */
    hashOutputs: boolean;
    filters: FilterSettings;
    scope: Pick<FilterScope, "projectRoot" | "roarDir" | "privatePaths">;
  },
): RecordAhead | null {
  // The queue (and the native kernel) only when there is work for it: a job that opened no data (`roar run true`)
  // loads neither. The change check queued first: the hashing queued after it still goes first (see NativeQueue).
  let queue: NativeQueue | null | undefined = options.queue ?? undefined;
  const theQueue = () => {
    if (queue === undefined) queue = loadNativeBlake3().kernel?.queue() ?? null;
    return queue;
  };
  const early = options.early;
  if (early && !early.checkQueued() && early.identifiedCount() > 0) {
    const q = theQueue();
    if (q) early.checkAhead(q);
  }
  const written: string[] = [];
  if (options.hashOutputs) {
    // The filters' verdict before the job's own context: what they drop now, they drop after (select.ts).
    const ctx = scopeContext(options.scope);
    const list = classification.files.list;
    for (let i = 0; i < list.length; i++) {
      const f = list[i] as PathFacts;
      if (f.written && !f.deleted && !f.symlink && ignoreReason(f.path, "write", options.filters, ctx) === null)
        written.push(f.path);
    }
  }
  const hashQueue = written.length > 0 ? theQueue() : null;
  const hashing = hashQueue?.hashPaths(written, { maxSize: AHEAD_MAX_FILE, maxTotal: AHEAD_MAX_TOTAL }) ?? null;
  if (!queue) return null;
  const running = queue;
  let hashed: Map<string, FileHashOutcome> | null = null;
  return {
    hashedOutputs() {
      if (hashed) return hashed;
      hashed = new Map();
      if (hashing) {
        try {
          const outcomes = hashing();
          for (let i = 0; i < written.length; i++) hashed.set(written[i] as string, outcomes[i] as FileHashOutcome);
        } catch {
          // Hashed after, as without the queue.
        }
      }
      return hashed;
    },
    close: () => running.close(),
  };
}
