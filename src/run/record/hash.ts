/**
 * Record step 3b, hash: every input and output that still exists is hashed once (the hash cache spares unchanged
 * files); links the job made are identified by their target text. The result is the job's input and output
 * records.
 */
import { IoFlags } from "../../core/io-flags.ts";
import { storedPath } from "../../core/project-paths.ts";
import type { IoRecord } from "../../core/types.ts";
import {
  type ExtraAlgorithm,
  type FileDigest,
  type FileHashOutcome,
  type FileHashResult,
  type FileIdentity,
  hashFiles,
  isHashError,
  NO_EXTRA_DIGESTS,
} from "../../hash/index.ts";
import type { OpenStat } from "../../schema/events.ts";
import { hasKeys } from "../../shared/objects.ts";
import { mark } from "../../shared/timing.ts";
import type { SqliteHashCache } from "../../store/hash-cache.ts";
import { keepPrior, type PriorContent } from "../captures.ts";
import { type LinkDigest, linkDigest } from "../links.ts";
import type { ReadContents } from "./content.ts";
import type { SelectedFiles, TracedInput } from "./select.ts";

/** The shared, frozen empty digests (NO_EXTRA_DIGESTS), typed as an io record holds them. */
const NO_DIGESTS = NO_EXTRA_DIGESTS as Record<string, string>;

/** The record of a file of this stored path and content (its extra digests copied: a record owns its own). */
export function digestRecord(stored: string, h: FileDigest, flags: number): IoRecord {
  // A copy of the extra digests, or none: most jobs ask for none, and a big one has tens of thousands of files
  // (those identified while the job ran share NO_EXTRA_DIGESTS: no key to look for).
  const digests: Record<string, string> =
    h.digests !== NO_EXTRA_DIGESTS && hasKeys(h.digests) ? ({ ...h.digests } as Record<string, string>) : NO_DIGESTS;
  return { path: stored, blake3: h.blake3, size: h.size, flags, digests };
}

export interface HashSettings {
  algorithms: ExtraAlgorithm[];
  cache: SqliteHashCache;
  onProgress?: (done: number, total: number) => void;
  /** What a file held when it was opened (stat then), when something knows it (see record/content.ts). */
  contentAtOpen: (stat: OpenStat, stored: string) => IoRecord | null;
  /** Files the job created, hashed while the trace was filtered (see record/ahead.ts). */
  hashedAhead?: ReadonlyMap<string, FileHashOutcome>;
}

/** Where the job's pre-write copies go when reversible.enabled (for roar pop); null: not kept. */
export interface PriorKeeping {
  priors: ReadonlyMap<string, PriorContent>;
  /** reversible.enabled: the .roar directory whose objects keep what changed files held. */
  keepIn: string | null;
}

export interface HashedFiles {
  inputs: IoRecord[];
  /** For each of the selected inputs, the index of its record in `inputs` (-1: left out). */
  inputRecordAt: Int32Array;
  outputs: IoRecord[];
  /** For the job's metadata: how much hashing it took. */
  hashing: { files: number; cacheHits: number; bytesHashed: number };
}

export async function hashJobFiles(
  files: Pick<SelectedFiles, "inputs" | "outputs" | "statted" | "deferred">,
  read: ReadContents,
  prior: PriorKeeping,
  projectRoot: string,
  settings: HashSettings,
): Promise<HashedFiles> {
  const { inputs, outputs } = files;
  // Links the job made are identified by their target text (see run/links.ts).
  const links = new Map<string, LinkDigest>();
  for (const o of outputs) {
    const link = o.link ? await linkDigest(o.path) : null;
    if (link) links.set(o.path, link);
  }
  // Hash every input and output that still exists, once (inputs identified while the job ran are known).
  const toHash = new Set<string>();
  // Maps that are empty in most jobs are not asked (a lookup per input adds up over tens of thousands).
  const readAtOpen = read.byPath.size > 0 ? read.byPath : null;
  // The same pass counts the inputs identified while the job ran (TracedInput.early): cache hits, or hashed then.
  const early = { files: 0, cacheHits: 0, bytesHashed: 0 };
  for (let k = 0; k < inputs.length; k++) {
    const i = inputs[k] as TracedInput;
    const digest = i.early;
    if (digest !== undefined) {
      early.files++;
      if (digest.cached) early.cacheHits++;
      else early.bytesHashed += digest.size;
    } else if ((i.flags & IoFlags.CHANGED_DURING_RUN) === 0 && !readAtOpen?.has(i.path)) toHash.add(i.path);
  }
  for (const o of outputs) if ((o.flags & IoFlags.DELETED) === 0 && !links.has(o.path)) toHash.add(o.path);
  const hashing = { files: toHash.size, cacheHits: 0, bytesHashed: 0 };
  const known = new Map<string, FileIdentity>();
  const unlooked = new Map<string, bigint>();
  for (const path of toHash) {
    const now = files.statted.get(path);
    if (now) known.set(path, now);
    const atOpen = files.deferred.get(path);
    if (atOpen) unlooked.set(path, BigInt(atOpen.size));
  }
  // The identity each deferred input was hashed at: whether it changed since the job opened it.
  const hashedAt = new Map<string, FileIdentity>();
  const hashed: Map<string, FileHashResult> = await hashFiles(toHash, {
    algorithms: settings.algorithms,
    cache: settings.cache,
    known,
    unlooked,
    hashedAhead: settings.hashedAhead,
    onHashed: (path, identity) => {
      if (files.deferred.has(path)) hashedAt.set(path, identity);
    },
    onProgress: (p) => {
      hashing.cacheHits = p.cacheHits;
      hashing.bytesHashed = p.bytesHashed;
      settings.onProgress?.(p.filesDone, p.filesTotal);
    },
  });
  mark("record: hash: files hashed");
  hashing.files += early.files;
  hashing.cacheHits += early.cacheHits;
  hashing.bytesHashed += early.bytesHashed;

  const ioRecord = (
    path: string,
    flags: number,
    early: FileDigest | undefined,
    storedAlready: string | null,
  ): IoRecord | null => {
    // Identified while the job ran, or hashed after it (never both: see toHash).
    const h = early ?? hashed.get(path);
    // Exact bytes: the store keeps a name that is not valid UTF-8 as a BLOB (see store/paths.ts).
    const stored = storedAlready ?? storedPath(path, projectRoot);
    if ((flags & IoFlags.DELETED) !== 0) return { path: stored, blake3: null, size: null, flags };
    if (!h || isHashError(h)) {
      // Vanished after the job (or not a regular file): an output that is gone was deleted by the job.
      if (h && h.code === "ENOENT") return { path: stored, blake3: null, size: null, flags: flags | IoFlags.DELETED };
      return null;
    }
    return digestRecord(stored, h, flags);
  };
  const deferred = files.deferred.size > 0 ? files.deferred : null;
  const inputRecord = (i: TracedInput): IoRecord | null => {
    const atOpen = readAtOpen?.get(i.path);
    if (atOpen) return atOpen;
    const openStat = deferred?.get(i.path);
    const now = openStat && hashedAt.get(i.path);
    if (openStat && (!now || Number(now.size) !== openStat.size || Number(now.mtimeNs) !== openStat.mtimeNs)) {
      // Changed during the run (or gone): what it held at the open, when something knows it; else left out.
      const flags = i.flags | IoFlags.CHANGED_DURING_RUN;
      const known = settings.contentAtOpen(openStat, storedPath(i.path, projectRoot));
      return known ? { ...known, flags } : null;
    }
    // Changed during the run and its earlier content is unknown: leave it out rather than record it wrong.
    if ((i.flags & IoFlags.CHANGED_DURING_RUN) !== 0 || (i.flags & IoFlags.READ_WRITE) !== 0) return null;
    // Identified while the job ran, its record made then.
    if (i.record !== null && i.flags === i.record.flags) return i.record;
    return ioRecord(i.path, i.flags, i.early, i.stored);
  };
  // A loop, not map and filter: once a job over every input, mostly before the JIT has compiled it.
  // Sized for every input and cut to length: a store by index costs a third of a push in these tiers.
  const inputRecords = new Array<IoRecord>(inputs.length);
  const inputRecordAt = new Int32Array(inputs.length);
  let recorded = 0;
  for (let k = 0; k < inputs.length; k++) {
    const record = inputRecord(inputs[k] as TracedInput);
    if (record !== null && record.blake3 !== null) {
      inputRecordAt[k] = recorded;
      inputRecords[recorded++] = record;
    } else inputRecordAt[k] = -1;
  }
  inputRecords.length = recorded;
  const outputRecords: IoRecord[] = [];
  for (const o of outputs) {
    const link = links.get(o.path);
    const record: IoRecord | null = link
      ? {
          path: storedPath(o.path, projectRoot),
          blake3: link.blake3,
          size: link.size,
          flags: o.flags | IoFlags.SYMLINK,
          linkTarget: link.target,
        }
      : ioRecord(o.path, o.flags, undefined, null);
    if (!record) continue;
    const before = prior.priors.get(o.path);
    if ((record.flags & IoFlags.EXISTED) !== 0 && before) {
      record.prevBlake3 = before.blake3;
      record.prevMode = before.mode;
      if (prior.keepIn !== null && keepPrior(prior.keepIn, before)) record.flags |= IoFlags.PREV_KEPT;
    }
    outputRecords.push(record);
  }
  return { inputs: inputRecords, inputRecordAt, outputs: outputRecords, hashing };
}
