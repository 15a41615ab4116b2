/**
 * What identifying an input while the job runs finds (run/early-identities.ts): the identity itself, a path's
 * first open, and the comparisons of a file's stat at the open with what the cache or the hashing saw.
 */
import type { IoRecord } from "../core/types.ts";
import type { FileDigest, FileIdentity, StatAtOpen } from "../hash/index.ts";
import { digestRecord } from "./record/hash.ts";

export interface EarlyIdentity {
  /** The file as the tracer saw it opened. */
  stat: StatAtOpen;
  digest: FileDigest;
  /** Its place in the list of inputs identified while the job ran (checkAhead), -1 when not in it. */
  checkedAt: number;
  /**
   * Its path as the store keeps it (core/project-paths.ts storedPath), made as it is identified, while the job
   * runs: one string operation a file fewer after it (null: the caller did not say how).
   */
  stored: string | null;
  /**
   * Its record as an input the job only read (flags 0), made with `stored` while the job runs, for the hash step
   * to take as it is (the end of the record step may still flag it CHANGED_DURING_RUN).
   */
  record: IoRecord | null;
}

/** An identified input's stored path and record, when the caller said how to store paths. */
export function identified(
  stat: StatAtOpen,
  digest: FileDigest,
  path: string,
  storedPathOf: ((path: string) => string) | undefined,
): EarlyIdentity {
  const stored = storedPathOf ? storedPathOf(path) : null;
  return { stat, digest, checkedAt: -1, stored, record: stored !== null ? digestRecord(stored, digest, 0) : null };
}

/** A path's first open: the stat it was looked up with (null: not looked up), and its identity once found. */
export interface FirstOpen {
  stat: StatAtOpen | null;
  found: EarlyIdentity | undefined;
}

// The same object first: the trace's classification and these lookups keep the very stat each open came with.
export const sameStat = (a: StatAtOpen, b: StatAtOpen) =>
  a === b ||
  (a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs);

/** The file hashed is the file opened: same inode, size and times (as numbers, as the tracer reports them). */
export const hashedAsOpened = (now: FileIdentity, open: StatAtOpen) =>
  Number(now.dev) === open.dev &&
  Number(now.ino) === open.ino &&
  Number(now.size) === open.size &&
  Number(now.mtimeNs) === open.mtimeNs &&
  Number(now.ctimeNs) === open.ctimeNs;
