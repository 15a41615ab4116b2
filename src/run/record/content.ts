/**
 * Record step 3a: what an input held when the job read it, for the inputs that are no longer that content — the
 * job edited them in place, or they changed or vanished during the run.
 */
import { IoFlags } from "../../core/io-flags.ts";
import { storedPath } from "../../core/project-paths.ts";
import type { IoRecord } from "../../core/types.ts";
import type { OpenStat } from "../../schema/events.ts";
import type { SqliteHashCache } from "../../store/hash-cache.ts";
import type { RoarStore } from "../../store/store.ts";
import { cachedDigestAt, isSymlinkMode, type PriorContent } from "../captures.ts";
import type { TracedInput } from "./select.ts";

export interface ReadContents {
  /** The record of each such input whose content is known, by path. */
  byPath: Map<string, IoRecord>;
  /** Inputs the job rewrote whose content nothing knows (stored paths): the trace is incomplete without them. */
  unknown: string[];
}

/** Where earlier contents are looked up: the hash cache, and the outputs of recorded jobs. */
export interface ContentLookup {
  cache: SqliteHashCache;
  store: Pick<RoarStore, "lastOutputDigest">;
}

/** The digest of a file as it was at `stat`, from the hash cache (by its own rule) or earlier records. */
export function contentAtOpen(lookup: ContentLookup, stat: OpenStat, stored: string): IoRecord | null {
  const digest = cachedDigestAt(lookup.cache, stat) ?? lookup.store.lastOutputDigest(stored, stat.size);
  return digest ? { path: stored, blake3: digest, size: stat.size, flags: 0 } : null;
}

/**
 * Each stale input is identified by the content the job read, not by what is there now: its pre-write capture,
 * else its identity found while the job ran (`early`: vouched for, or hashed as opened), else the hash cache entry
 * that matches the stat seen at open, else the last recorded output at that path of that size. One that none of
 * them knows is left out, and the trace marked incomplete.
 */
export function contentsRead(
  inputs: readonly TracedInput[],
  priors: ReadonlyMap<string, PriorContent>,
  lookup: ContentLookup,
  projectRoot: string,
): ReadContents {
  const out: ReadContents = { byPath: new Map(), unknown: [] };
  for (const i of inputs) {
    const stale = (i.flags & (IoFlags.READ_WRITE | IoFlags.CHANGED_DURING_RUN)) !== 0;
    if (!stale) continue;
    const stored = storedPath(i.path, projectRoot);
    const prior = priors.get(i.path);
    const opened = i.early;
    const known: IoRecord | null =
      prior?.blake3 && !isSymlinkMode(prior.mode)
        ? { path: stored, blake3: prior.blake3, size: prior.size, flags: i.flags }
        : opened
          ? { path: stored, blake3: opened.blake3, size: opened.size, flags: i.flags }
          : i.stat
            ? contentAtOpen(lookup, i.stat, stored)
            : null;
    if (known) out.byPath.set(i.path, { ...known, flags: i.flags });
    else if ((i.flags & IoFlags.READ_WRITE) !== 0) out.unknown.push(stored);
  }
  return out;
}
