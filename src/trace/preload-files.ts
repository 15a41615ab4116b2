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
  readFileSync,
  readSync,
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

/**
 * The spool's layout (rust/crates/roar-preload/src/state.rs): one file, `slots`, whose buffers are lent to the
 * traced processes — a header (magic, then bitmaps of the slots lent and of those allocated), then the slots, each
 * `[magic, committed length, pid]` and the records.
 */
const SLOTS_FILE = "slots";
const SLOTS_MAGIC = "ROARSLT1";
const SLOTS_HEADER = 64 * 1024;
const SLOT_STRIDE = 128 * 1024;
const READY_AT = 2304;
const SLOT_WORDS = 224;
const SLOT_HEADER = 64;
const SLOT_MAGIC = "ROARSPL1";

/**
 * Records a process had buffered but never flushed (it was killed by a signal): still in the spool slot it had
 * borrowed. A slot given back (a clean exit, an exec) has nothing committed.
 */
export function readSpool(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let fd: number;
  try {
    fd = openSync(join(dir, SLOTS_FILE), "r");
  } catch {
    return out;
  }
  try {
    const header = Buffer.alloc(READY_AT + SLOT_WORDS * 8);
    if (readSync(fd, header, 0, header.length, 0) < header.length) return out;
    if (header.subarray(0, 8).toString("latin1") !== SLOTS_MAGIC) return out;
    const size = fstatSync(fd).size;
    const slot = Buffer.alloc(SLOT_HEADER);
    for (let word = 0; word < SLOT_WORDS; word++) {
      const ready = header.readBigUInt64LE(READY_AT + word * 8);
      if (ready === 0n) continue;
      for (let bit = 0; bit < 64; bit++) {
        if (((ready >> BigInt(bit)) & 1n) === 0n) continue;
        const at = SLOTS_HEADER + (word * 64 + bit) * SLOT_STRIDE;
        if (readSync(fd, slot, 0, SLOT_HEADER, at) < SLOT_HEADER) continue;
        if (slot.subarray(0, 8).toString("latin1") !== SLOT_MAGIC) continue;
        const committed = Number(slot.readBigUInt64LE(8));
        if (committed === 0 || at + SLOT_HEADER + committed > size) continue;
        const records = Buffer.alloc(committed);
        if (readSync(fd, records, 0, committed, at + SLOT_HEADER) === committed) out.push(records);
      }
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Spool removals under way (see removeSpool). */
const removals: Promise<void>[] = [];

/**
 * Removes a spool directory, in the background: time the run's caller need not wait for (the directory is private
 * to this run). Its two files are unlinked by Bun's I/O threads (the slots' allocated blocks take a while to free,
 * which the recording overlaps), then the directory.
 */
export function removeSpool(spool: string): void {
  const unlinked = ["lost", SLOTS_FILE].map((name) =>
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
  // The slots' header page, written (allocated) here: processes map it to borrow slots.
  const slots = new Uint8Array(4096);
  slots.set(new TextEncoder().encode(SLOTS_MAGIC));
  writeFileSync(join(spool, SLOTS_FILE), slots, { mode: 0o600 });
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
