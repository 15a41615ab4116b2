/**
 * Trace event streams: the HEADER record a stream starts with, and decoding a stream whole, in pieces as it
 * grows, or by following the file a tracer appends to. Records themselves are read by event-record.ts.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { EventKind, TRACER_ABI_VERSION, type TraceEvent } from "../schema/events.ts";
import { decodeRecords } from "./event-record.ts";

/** The HEADER record a stream starts with, encoded as the tracers encode it (see rust/crates/roar-events). */
export function headerRecord(backend: string): Uint8Array {
  const name = new TextEncoder().encode(backend);
  if (name.length > 31 || TRACER_ABI_VERSION > 127) throw new Error("header record: name or ABI version too long");
  // fixarray(6) [kind 0, pid 0, seq 0, ts 0, abi (positive fixint), backend (fixstr)]
  return Uint8Array.of(0x96, EventKind.HEADER, 0, 0, 0, TRACER_ABI_VERSION, 0xa0 | name.length, ...name);
}

export interface DecodedStream {
  events: TraceEvent[];
  /** Bytes at the end that did not form a whole record (a writer killed mid-write). */
  truncatedTail: boolean;
}

/**
 * Decodes a stream in pieces as it grows: complete records are decoded as soon as they arrive, a record cut
 * at the end of a piece waits for the next one. Lets a backend decode while the traced command still runs.
 */
export class StreamDecoder {
  readonly events: TraceEvent[] = [];
  private pending: Buffer = Buffer.alloc(0);

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const source = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const consumed = decodeRecords(source, this.events);
    // Copy the tail: `source` may be a view of a caller's buffer that is reused.
    this.pending = Buffer.from(source.subarray(consumed));
  }

  /** The events so far; `truncatedTail` when bytes remain that never formed a whole record. */
  finish(): DecodedStream {
    return { events: this.events, truncatedTail: this.pending.length > 0 };
  }
}

/** Decodes a whole event stream; checks the header's ABI version when there is one. */
export function decodeStream(bytes: Uint8Array): DecodedStream {
  const decoder = new StreamDecoder();
  decoder.push(bytes);
  return decoder.finish();
}

/**
 * Follows a file another process appends to, feeding new bytes to a decoder: `poll()` while the writer runs,
 * `drain()` once it is done.
 */
export class FileTail {
  private offset = 0;
  private fd: number | null = null;
  private readonly buffer = Buffer.alloc(256 * 1024);
  /** Events already passed to `observe`. */
  private observed = 0;

  constructor(
    private readonly path: string,
    readonly decoder = new StreamDecoder(),
    /** Sees the events decoded while the writer runs, each once, in stream order (see TraceRequest.observe). */
    private observe?: (events: readonly TraceEvent[], from: number) => void,
  ) {}

  /** Decodes what the writer added since; `observing` false: the writer is done, nothing more is observed. */
  poll(observing = true): void {
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, "r");
      } catch {
        return; // not created yet
      }
    }
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.decoder.push(this.buffer.subarray(0, n));
    }
    const { events } = this.decoder;
    if (observing && this.observe && events.length > this.observed) {
      const from = this.observed;
      this.observed = events.length;
      try {
        this.observe(events, from);
      } catch {
        // Observing is an optimisation: a failure there must not stop the trace being read.
        this.observe = undefined;
      }
    }
  }

  drain(): DecodedStream {
    this.poll(false);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return this.decoder.finish();
  }
}
