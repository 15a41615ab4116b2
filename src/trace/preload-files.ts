/**
 * The files the LD_PRELOAD library shares with roar, for the preload and hybrid backends: the environment that
 * points it at them, the spool directory where each process's unflushed records survive a kill, and the
 * event stream merged with what the spool recovered.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rm,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { TraceEvent } from "../schema/events.ts";
import { type DecodedStream, decodeStream } from "./events.ts";

/**
 * The traced command's environment: the request's, with the preload library first in LD_PRELOAD and the
 * variables it reads (rust/crates/roar-preload/README.md): where to write records, itself, its spool.
 */
export function preloadEnv(env: Record<string, string>, lib: string, eventsPath: string, spool: string): string[] {
  const out: Record<string, string> = { ...env };
  const others = (out.LD_PRELOAD ?? "").split(/[: ]/).filter((p) => p !== "" && p !== lib);
  out.LD_PRELOAD = [lib, ...others].join(":");
  out.ROAR_EVENTS_PATH = eventsPath;
  out.ROAR_PRELOAD_LIB = lib;
  out.ROAR_SPOOL_DIR = spool;
  return Object.entries(out).map(([k, v]) => `${k}=${v}`);
}

/** How often the events file is read while the command runs. */
export const TAIL_POLL_MS = 5;

const SPOOL_HEADER = 64;
const SPOOL_MAGIC = "ROARSPL1";

/**
 * Records a process had buffered but never flushed (it was killed by a signal): each process's buffer is
 * a shared mapping of a file in the spool directory, `[magic, committed length, pid]` then the records.
 */
export function readSpool(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  const header = Buffer.alloc(SPOOL_HEADER);
  for (const name of names) {
    // most spool files were cleared by a clean exit: read the header, then only the committed records
    const fd = openSync(join(dir, name), "r");
    try {
      if (readSync(fd, header, 0, SPOOL_HEADER, 0) < SPOOL_HEADER) continue;
      if (header.subarray(0, 8).toString("latin1") !== SPOOL_MAGIC) continue;
      const committed = Number(header.readBigUInt64LE(8));
      if (committed === 0 || committed > fstatSync(fd).size - SPOOL_HEADER) continue;
      const records = Buffer.alloc(committed);
      if (readSync(fd, records, 0, committed, SPOOL_HEADER) === committed) out.push(records);
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** Spool files (one a traced process) unlinked one by one; more are removed as a tree in the background. */
const SPOOL_FILES_REMOVED_IN_PLACE = 8;

/** Spool removals under way (see removeSpool). */
const removals: Promise<void>[] = [];

/**
 * Removes a spool directory, in the background: time the run's caller need not wait for (the directory is private
 * to this run). A few files are unlinked by Bun's I/O threads (a spool file's allocated pages take ~1 ms to free,
 * which the recording overlaps); many (a build's hundreds of processes each mapped and wrote one: ~25 ms for 200)
 * as a tree. Not always as a tree: Bun's callback `rm` loads node:fs/promises, ~2 ms of every small run.
 */
export function removeSpool(spool: string): void {
  let names: string[];
  try {
    names = readdirSync(spool);
  } catch {
    return; // never made, or gone
  }
  if (names.length > SPOOL_FILES_REMOVED_IN_PLACE) {
    rm(spool, { recursive: true, force: true }, () => {});
    return;
  }
  const unlinked = names.map((name) =>
    Bun.file(join(spool, name))
      .delete()
      .catch(() => {}),
  );
  removals.push(Promise.all(unlinked).then(() => rmSync(spool, { recursive: true, force: true })));
}

/** Waits for the spool removals started so far (before the directory holding them is removed). */
export async function spoolsRemoved(): Promise<void> {
  await Promise.allSettled(removals.splice(0));
}

/**
 * A spool directory with its `lost` counter: one allocated page where preload processes count the records they
 * could not write (a full disk), so that the count needs no new space (rust/crates/roar-preload/src/state.rs).
 */
export function makeSpool(spool: string): void {
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  writeFileSync(join(spool, "lost"), new Uint8Array(4096), { mode: 0o600 });
}

/** Records preload processes could not write, from the spool's `lost` counter. */
export function unwrittenRecords(spool: string): number {
  try {
    const fd = openSync(join(spool, "lost"), "r");
    try {
      const word = Buffer.alloc(8);
      readSync(fd, word, 0, 8, 0);
      return Number(word.readBigUInt64LE(0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** The event stream plus the records recovered from spool files (minus any that were also flushed). */
export function collectEvents(
  eventsPath: string,
  spool: string,
  decoded?: DecodedStream,
): { events: TraceEvent[]; truncatedTail: boolean } {
  const main = decoded ?? decodeStream(existsSync(eventsPath) ? readFileSync(eventsPath) : new Uint8Array());
  const key = (e: TraceEvent) => `${e.kind}/${e.pid}/${e.seq}/${e.ts}`;
  let truncatedTail = main.truncatedTail;
  const chunks = readSpool(spool);
  // Usually every process exited cleanly and the spool is empty: only then is the index worth building.
  const seen = chunks.length > 0 ? new Set(main.events.map(key)) : new Set<string>();
  for (const chunk of chunks) {
    const recovered = decodeStream(chunk);
    truncatedTail ||= recovered.truncatedTail;
    for (const e of recovered.events) {
      // a process killed between its write(2) and clearing the spool has its records in both
      if (!seen.has(key(e))) main.events.push(e);
    }
  }
  return { events: main.events, truncatedTail };
}
