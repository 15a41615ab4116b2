/**
 * Pre-write captures (rust/crates/roar-sys/src/prewrite.rs): before a job first changes a file that existed,
 * the tracers note its state and keep a copy of its bytes (up to a cap) in the run's capture directory. Here:
 * setting that directory up, the digests of what files held before the job (for inputs it read and rewrote,
 * and for what `roar pop` restores), and keeping those bytes in .roar/objects when reversible.enabled.
 */
import { mkdirSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PathFacts } from "../core/classify.ts";
import { type HashCacheRow, type HashCacheStore, isUsableRow } from "../hash/cache.ts";
import type { FileIdentity } from "../hash/file.ts";
import { cachedAtOpen, type FileDigest, hashBytes, hashFiles, isHashError } from "../hash/index.ts";
import type { OpenStat } from "../schema/events.ts";
import type { SqliteHashCache } from "../store/hash-cache.ts";
import { keepObject } from "../store/objects.ts";
import { privateTempDir } from "./in-flight.ts";

/** Size of the job's shared read filter (READS_BYTES in roar-sys prewrite.rs). */
const READS_BYTES = 128 * 1024;

/**
 * Creates the run's capture directory under .roar/tmp/ (the project's filesystem: captures of unlinked or
 * renamed files are hard links, and copies never fill $TMPDIR) and links it as `<traceDir>/pre`, where the
 * tracers look for it, with their settings: `cap`, the largest file whose bytes are kept; `keepAll`
 * (reversible.enabled), keep the bytes of every file the job changes — otherwise only of those it may have
 * read first (the job's inputs), noted in `<traceDir>/reads`, a Bloom filter every tracer maps.
 */
export function setUpCaptures(traceDir: string, roarDir: string, policy: { cap: number; keepAll: boolean }): string {
  const base = join(roarDir, "tmp");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = privateTempDir("pre", base);
  const cap = Math.max(0, Math.floor(policy.cap));
  writeFileSync(join(dir, ".max"), `${cap} ${policy.keepAll ? "all" : "read"}`, { mode: 0o600 });
  writeFileSync(join(traceDir, "reads"), new Uint8Array(READS_BYTES), { mode: 0o600 });
  symlinkSync(dir, join(traceDir, "pre"));
  return dir;
}

/** Removes the run's capture directory, and .roar/tmp itself when no other run uses it. */
export function removeCaptures(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir));
  } catch {
    // another run's captures are there, or it is gone already
  }
}

/** What a file held before the job changed it. */
export interface PriorContent {
  /** Its BLAKE3, or null when neither the hash cache nor a kept copy tells. */
  blake3: string | null;
  size: number;
  mode: number;
  /** The copy of its bytes in the capture directory, when one was kept. */
  copy: string | null;
}

/**
 * The digest the hash cache vouches for at exactly this stat, by the cache's own rule (same identity, not racy:
 * see hash/cache.ts), if any.
 */
export function cachedDigestAt(cache: Pick<HashCacheStore, "get">, stat: OpenStat): string | null {
  const row = cache.get(BigInt(stat.dev), BigInt(stat.ino));
  return row && isUsableRow(row, identityAtOpen(row, stat), []) ? row.blake3 : null;
}

/**
 * A stat the tracer reported, as a FileIdentity. Its fields travel as JS numbers (nanosecond times lose their
 * last digits): one equal to the cache row's at that precision stands for the row's exact value.
 */
function identityAtOpen(row: HashCacheRow, stat: OpenStat): FileIdentity {
  const exact = (stored: bigint, seen: number) => (Number(stored) === seen ? stored : BigInt(seen));
  return {
    dev: row.dev,
    ino: row.ino,
    size: exact(row.size, stat.size),
    mtimeNs: exact(row.mtimeNs, stat.mtimeNs),
    ctimeNs: exact(row.ctimeNs, stat.ctimeNs),
  };
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export function isSymlinkMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFLNK;
}

/** The prior content of every file the job changed that existed before it, keyed by path. */
export async function priorContents(
  files: Iterable<PathFacts>,
  captureDir: string | null,
  cache: SqliteHashCache,
): Promise<Map<string, PriorContent>> {
  const out = new Map<string, PriorContent>();
  const toHash = new Map<string, string>(); // copy → path
  const sizes = new Map<string, bigint>(); // copy → its size (kept whole, or not at all)
  const changed: { path: string; stat: OpenStat; before: NonNullable<PathFacts["before"]> }[] = [];
  for (const f of files) if (f.before) changed.push({ path: f.path, stat: f.before.stat, before: f.before });
  // One batch lookup for them all (2,000 rewritten outputs: ~7 ms looked up one at a time); a file with a dev
  // or inode beyond 2^53, which the batch leaves out, is looked up alone.
  const vouched = changed.length > 0 ? cachedAtOpen(changed, { cache }) : new Map<string, FileDigest>();
  for (const { path, stat, before } of changed) {
    const copy = before.copy && captureDir ? join(captureDir, before.copy) : null;
    const exact = Number.isSafeInteger(stat.dev) && Number.isSafeInteger(stat.ino);
    const prior: PriorContent = {
      blake3: exact ? (vouched.get(path)?.blake3 ?? null) : cachedDigestAt(cache, stat),
      size: stat.size,
      mode: before.mode,
      copy,
    };
    out.set(path, prior);
    if (copy && isSymlinkMode(prior.mode)) {
      // A symlink's content is its target text (its copy is a hard link to the link itself).
      try {
        const target = readlinkSync(copy, { encoding: "buffer" });
        prior.blake3 = await hashBytes(target);
        prior.size = target.length;
      } catch {
        prior.blake3 = null;
      }
    } else if (!prior.blake3 && copy) {
      toHash.set(copy, path);
      sizes.set(copy, BigInt(prior.size));
    }
  }
  if (toHash.size > 0) {
    // No cache for the copies: they are moved or removed right after.
    const hashed = await hashFiles(toHash.keys(), { unlooked: sizes });
    for (const [copy, path] of toHash) {
      const h = hashed.get(copy);
      const prior = out.get(path);
      if (prior && h && !isHashError(h) && h.size === prior.size) prior.blake3 = h.blake3;
    }
  }
  return out;
}

/** Moves the kept copy of `prior` into .roar/objects; true when the bytes are stored there now. */
export function keepPrior(roarDir: string, prior: PriorContent): boolean {
  if (!prior.copy || !prior.blake3) return false;
  if (isSymlinkMode(prior.mode)) {
    // Stored as a file holding the target text; roar pop makes a symlink of it again.
    try {
      const text = `${prior.copy}.target`;
      writeFileSync(text, readlinkSync(prior.copy, { encoding: "buffer" }), { mode: 0o600 });
      prior.copy = text;
    } catch {
      return false;
    }
  }
  const kept = keepObject(roarDir, prior.blake3, prior.copy);
  if (kept) prior.copy = null;
  return kept;
}
