import { closeSync, openSync, readSync } from "node:fs";
import { EventKind, NetOps, type OpenStat, TRACER_ABI_VERSION, type TraceEvent } from "../schema/events.ts";
import { bytesToPath } from "../shared/paths.ts";

/*
 * The record reader. Records are msgpack arrays (rust/crates/roar-events/README.md) using a small subset of
 * msgpack: arrays, integers, nil, bin and str. They are read here straight into typed events, without the
 * intermediate arrays and Buffers of a general msgpack decoder: 5,000 records decoded in ~1 ms instead of
 * ~4.5 ms (and ~17 ms on the first, cold call, which is the one `roar run` makes). test/unit/events.test.ts
 * checks it against msgpackr.
 */

/** Thrown when a record runs past the end of the input (a writer's record not yet complete). */
const CUT = Symbol("record cut by the end of the input");

let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function need(n: number): void {
  if (pos + n > buf.length) throw CUT;
}

function byte(): number {
  if (pos >= buf.length) throw CUT;
  return buf[pos++] as number;
}

function u16(): number {
  need(2);
  const v = ((buf[pos] as number) << 8) | (buf[pos + 1] as number);
  pos += 2;
  return v;
}

function u32(): number {
  need(4);
  const v =
    (buf[pos] as number) * 0x100_0000 +
    (((buf[pos + 1] as number) << 16) | ((buf[pos + 2] as number) << 8) | (buf[pos + 3] as number));
  pos += 4;
  return v;
}

/** An integer (any msgpack int form); int64 values beyond 2^53 lose precision, as nanosecond times may. */
function int(): number {
  const b = byte();
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc:
      return byte();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xcf: {
      const hi = u32();
      return hi * 0x1_0000_0000 + u32();
    }
    case 0xd0: {
      need(1);
      return buf.readInt8(pos++);
    }
    case 0xd1: {
      need(2);
      const v = buf.readInt16BE(pos);
      pos += 2;
      return v;
    }
    case 0xd2: {
      need(4);
      const v = buf.readInt32BE(pos);
      pos += 4;
      return v;
    }
    case 0xd3: {
      need(8);
      const v = Number(buf.readBigInt64BE(pos));
      pos += 8;
      return v;
    }
    // The tracers never write floats, but other msgpack writers encode large integers as float64.
    case 0xca: {
      need(4);
      const v = buf.readFloatBE(pos);
      pos += 4;
      return v;
    }
    case 0xcb: {
      need(8);
      const v = buf.readDoubleBE(pos);
      pos += 8;
      return v;
    }
    default:
      throw new Error(`bad integer in trace (msgpack type 0x${b.toString(16)})`);
  }
}

function nullableInt(): number | null {
  need(1);
  if (buf[pos] === 0xc0) {
    pos++;
    return null;
  }
  return int();
}

/** The length of a bin or str value, leaving `pos` at its first byte. */
function bytesLength(): number {
  const b = byte();
  if (b >= 0xa0 && b <= 0xbf) return b - 0xa0;
  switch (b) {
    case 0xc4:
    case 0xd9:
      return byte();
    case 0xc5:
    case 0xda:
      return u16();
    case 0xc6:
    case 0xdb:
      return u32();
    default:
      throw new Error(`bad path value in trace (msgpack type 0x${b.toString(16)})`);
  }
}

function path(): string {
  const n = bytesLength();
  need(n);
  const start = pos;
  pos += n;
  // ASCII and valid UTF-8 decode natively; only names with invalid bytes take the escaping route.
  const text = buf.toString("utf8", start, pos);
  return text.includes("\uFFFD") ? bytesToPath(buf.subarray(start, pos)) : text;
}

function text(): string {
  const n = bytesLength();
  need(n);
  pos += n;
  return buf.toString("utf8", pos - n, pos);
}

function arrayLength(): number {
  const b = byte();
  if (b >= 0x90 && b <= 0x9f) return b - 0x90;
  if (b === 0xdc) return u16();
  if (b === 0xdd) return u32();
  throw new Error(`bad record in trace (msgpack type 0x${b.toString(16)}, expected an array)`);
}

function nullablePath(): string | null {
  need(1);
  if (buf[pos] === 0xc0) {
    pos++;
    return null;
  }
  return path();
}

function paths(): string[] {
  const n = arrayLength();
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = path();
  return out;
}

function stat(): OpenStat | null {
  need(1);
  if (buf[pos] === 0xc0) {
    pos++;
    return null;
  }
  if (arrayLength() !== 5) throw new Error("bad stat in trace (expected 5 fields)");
  return { dev: int(), ino: int(), size: int(), mtimeNs: int(), ctimeNs: int() };
}

/** Skips a value of any type this contract uses (fields a newer writer appended). */
function skip(): void {
  need(1);
  const b = buf[pos] as number;
  if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) {
    const n = arrayLength();
    for (let i = 0; i < n; i++) skip();
  } else if (b === 0xc0) pos++;
  else if (
    (b >= 0xa0 && b <= 0xbf) ||
    b === 0xc4 ||
    b === 0xc5 ||
    b === 0xc6 ||
    b === 0xd9 ||
    b === 0xda ||
    b === 0xdb
  ) {
    const n = bytesLength();
    need(n);
    pos += n;
  } else int();
}

/** Reads one record at `pos` into a typed event (fields in contract order; extra trailing fields skipped). */
function record(): TraceEvent {
  const n = arrayLength();
  const kind = int();
  const pid = int();
  const seq = int();
  const ts = int();
  let e: TraceEvent;
  let used = 4;
  switch (kind) {
    case EventKind.HEADER:
      e = { kind: "header", pid, seq, ts, abi: int(), backend: text() };
      used += 2;
      break;
    case EventKind.PROC_START:
      e = { kind: "proc_start", pid, seq, ts, ppid: int(), exe: path(), argv: paths(), cwd: path() };
      used += 4;
      break;
    case EventKind.FORK:
      e = { kind: "fork", pid, seq, ts, child: int(), flags: int() };
      used += 2;
      break;
    case EventKind.EXEC:
      e = { kind: "exec", pid, seq, ts, path: path(), argv: paths(), flags: int() };
      used += 3;
      break;
    case EventKind.EXIT:
      e = { kind: "exit", pid, seq, ts, code: nullableInt(), signal: nullableInt() };
      used += 2;
      break;
    case EventKind.OPEN:
      e = { kind: "open", pid, seq, ts, path: path(), flags: int(), fd: int(), stat: stat() };
      used += 4;
      break;
    case EventKind.RENAME:
      e = { kind: "rename", pid, seq, ts, from: path(), to: path() };
      used += 2;
      break;
    case EventKind.LINK:
      e = { kind: "link", pid, seq, ts, from: path(), to: path(), flags: int() };
      used += 3;
      break;
    case EventKind.UNLINK:
      e = { kind: "unlink", pid, seq, ts, path: path(), flags: int() };
      used += 2;
      break;
    case EventKind.TRUNCATE:
      e = { kind: "truncate", pid, seq, ts, path: path() };
      used += 1;
      break;
    case EventKind.CHDIR:
      e = { kind: "chdir", pid, seq, ts, path: path() };
      used += 1;
      break;
    case EventKind.INCOMPLETE:
      e = { kind: "incomplete", pid, seq, ts, reason: text(), detail: path() };
      used += 2;
      break;
    case EventKind.DROPPED:
      e = { kind: "dropped", pid, seq, ts, count: int() };
      used += 1;
      break;
    case EventKind.PREWRITE: {
      const path_ = path();
      const st = stat();
      if (!st) throw new Error("bad PREWRITE record in trace (no stat)");
      const mode = int();
      const copy = nullablePath();
      e = { kind: "prewrite", pid, seq, ts, path: path_, stat: st, mode, copy };
      used += 4;
      break;
    }
    case EventKind.NET: {
      const op = int() === NetOps.ACCEPT ? "accept" : "connect";
      const n = bytesLength();
      need(n);
      const address = sockaddrText(buf.subarray(pos, pos + n));
      pos += n;
      e = { kind: "net", pid, seq, ts, op, address };
      used += 2;
      break;
    }
    default:
      throw new Error(`unknown trace record kind ${kind}`);
  }
  if (used > n) throw new Error(`trace record of kind ${kind} has ${n} fields, fewer than its ${used}`);
  for (let i = used; i < n; i++) skip();
  return e;
}

/** "1.2.3.4:80" or "[2001:db8::1]:443" from a `struct sockaddr_in` / `sockaddr_in6` (native-endian family). */
export function sockaddrText(sa: Uint8Array): string {
  const view = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  if (sa.length < 4) return "?";
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === 2 && sa.length >= 8) return `${[...sa.subarray(4, 8)].join(".")}:${port}`;
  if (family === 10 && sa.length >= 24) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(view.getUint16(8 + 2 * i, false).toString(16));
    // the longest run of zero words becomes "::"
    let best = [-1, 0];
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && words[j] === "0") j++;
      if (j - i > (best[1] ?? 0) && j - i > 1) best = [i, j - i];
      i = j === i ? i + 1 : j;
    }
    const [at = -1, len = 0] = best;
    const text = at < 0 ? words.join(":") : `${words.slice(0, at).join(":")}::${words.slice(at + len).join(":")}`;
    return `[${text}]:${port}`;
  }
  return "?";
}

/** The HEADER record a stream starts with, encoded as the tracers encode it (see rust/crates/roar-events). */
export function headerRecord(backend: string): Uint8Array {
  const name = new TextEncoder().encode(backend);
  if (name.length > 31 || TRACER_ABI_VERSION > 127) throw new Error("header record: name or ABI version too long");
  // fixarray(6) [kind 0, pid 0, seq 0, ts 0, abi (positive fixint), backend (fixstr)]
  return Uint8Array.of(0x96, EventKind.HEADER, 0, 0, 0, TRACER_ABI_VERSION, 0xa0 | name.length, ...name);
}

/**
 * Decodes every whole record of `bytes` into `events`; returns how many bytes they took (the rest is a
 * record cut by the end of the input).
 */
export function decodeRecords(bytes: Buffer, events: TraceEvent[]): number {
  buf = bytes;
  pos = 0;
  let consumed = 0;
  try {
    while (pos < buf.length) {
      const e = record();
      events.push(checked(e));
      consumed = pos;
    }
  } catch (error) {
    if (error !== CUT) throw error;
  } finally {
    buf = Buffer.alloc(0);
  }
  return consumed;
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
