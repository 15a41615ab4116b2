import { closeSync, openSync, readSync } from "node:fs";
import { Unpackr } from "msgpackr";
import { EventKind, type OpenStat, TRACER_ABI_VERSION, type TraceEvent } from "../schema/events.ts";
import { bytesToPath } from "./paths.ts";

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

type Raw = unknown[];

function path(v: unknown): string {
  if (v instanceof Uint8Array) return bytesToPath(v);
  if (typeof v === "string") return v;
  throw new Error(`bad path value in trace: ${typeof v}`);
}

function int(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(`bad integer in trace: ${String(v)}`);
}

function nullableInt(v: unknown): number | null {
  return v === null || v === undefined ? null : int(v);
}

function stat(v: unknown): OpenStat | null {
  if (!Array.isArray(v)) return null;
  const [dev, ino, size, mtimeNs, ctimeNs] = v.map(int);
  return { dev: dev ?? 0, ino: ino ?? 0, size: size ?? 0, mtimeNs: mtimeNs ?? 0, ctimeNs: ctimeNs ?? 0 };
}

/** Decodes one raw msgpack record (see rust/crates/roar-events/README.md) into a typed event. */
export function decodeRecord(r: Raw): TraceEvent {
  const kind = int(r[0]);
  const base = { pid: int(r[1]), seq: int(r[2]), ts: int(r[3]) };
  switch (kind) {
    case EventKind.HEADER:
      return { kind: "header", ...base, abi: int(r[4]), backend: String(r[5]) };
    case EventKind.PROC_START:
      return {
        kind: "proc_start",
        ...base,
        ppid: int(r[4]),
        exe: path(r[5]),
        argv: (r[6] as unknown[]).map(path),
        cwd: path(r[7]),
      };
    case EventKind.FORK:
      return { kind: "fork", ...base, child: int(r[4]), flags: int(r[5]) };
    case EventKind.EXEC:
      return { kind: "exec", ...base, path: path(r[4]), argv: (r[5] as unknown[]).map(path), flags: int(r[6]) };
    case EventKind.EXIT:
      return { kind: "exit", ...base, code: nullableInt(r[4]), signal: nullableInt(r[5]) };
    case EventKind.OPEN:
      return { kind: "open", ...base, path: path(r[4]), flags: int(r[5]), fd: int(r[6]), stat: stat(r[7]) };
    case EventKind.RENAME:
      return { kind: "rename", ...base, from: path(r[4]), to: path(r[5]) };
    case EventKind.LINK:
      return { kind: "link", ...base, from: path(r[4]), to: path(r[5]), flags: int(r[6]) };
    case EventKind.UNLINK:
      return { kind: "unlink", ...base, path: path(r[4]), flags: int(r[5]) };
    case EventKind.TRUNCATE:
      return { kind: "truncate", ...base, path: path(r[4]) };
    case EventKind.CHDIR:
      return { kind: "chdir", ...base, path: path(r[4]) };
    case EventKind.INCOMPLETE:
      return { kind: "incomplete", ...base, reason: String(r[4]), detail: path(r[5]) };
    case EventKind.DROPPED:
      return { kind: "dropped", ...base, count: int(r[4]) };
    default:
      throw new Error(`unknown trace record kind ${kind}`);
  }
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
    let consumed = 0;
    try {
      unpackr.unpackMultiple(source, (value: unknown, _start?: number, end?: number) => {
        if (Array.isArray(value)) this.events.push(checked(decodeRecord(value)));
        consumed = end ?? source.length;
      });
      consumed = source.length;
    } catch (error) {
      // msgpackr marks a record cut by the end of the input as `incomplete`, with where it started.
      const cut = error as { incomplete?: boolean; lastPosition?: number; message?: string };
      const incomplete = cut?.incomplete === true || /end of buffer|Unexpected end/i.test(cut?.message ?? "");
      if (!incomplete) throw error;
      if (typeof cut.lastPosition === "number") consumed = cut.lastPosition;
    }
    // Copy the tail: `source` may be a view of a caller's buffer that is reused.
    this.pending = Buffer.from(source.subarray(consumed));
  }

  /** The events so far; `truncatedTail` when bytes remain that never formed a whole record. */
  finish(): DecodedStream {
    return { events: this.events, truncatedTail: this.pending.length > 0 };
  }
}

function checked(e: TraceEvent): TraceEvent {
  if (e.kind === "header" && e.abi !== TRACER_ABI_VERSION) {
    throw new Error(`tracer event stream has ABI version ${e.abi}, this roar reads ${TRACER_ABI_VERSION}`);
  }
  return e;
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

  constructor(
    private readonly path: string,
    readonly decoder = new StreamDecoder(),
  ) {}

  poll(): void {
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, "r");
      } catch {
        return; // not created yet
      }
    }
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (n <= 0) return;
      this.offset += n;
      this.decoder.push(this.buffer.subarray(0, n));
    }
  }

  drain(): DecodedStream {
    this.poll();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return this.decoder.finish();
  }
}
