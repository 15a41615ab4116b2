import { EventKind, NetOps, type OpenStat, TRACER_ABI_VERSION, type TraceEvent } from "../../src/schema/events.ts";
import { keepOutOfTopTier } from "../../src/shared/jit.ts";
import { bytesToPath } from "../../src/shared/paths.ts";
import { sockaddrText } from "../../src/trace/sockaddr.ts";

/*
 * The purpose-built record reader roar used before msgpackr went back on the production path (issue 18): it reads
 * the small msgpack subset of the event contract straight into typed events, without msgpackr's intermediate
 * arrays and Buffers. Kept here only as the reference bench/event-decoder.ts measures msgpackr against.
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
  switch (kind) {
    case EventKind.HEADER:
      return ended(n, kind, 2, { kind: "header", pid, seq, ts, abi: int(), backend: text() });
    case EventKind.PROC_START:
      return ended(n, kind, 4, {
        kind: "proc_start",
        pid,
        seq,
        ts,
        ppid: int(),
        exe: path(),
        argv: paths(),
        cwd: path(),
      });
    case EventKind.FORK:
      return ended(n, kind, 2, { kind: "fork", pid, seq, ts, child: int(), flags: int() });
    case EventKind.EXEC:
      return ended(n, kind, 3, { kind: "exec", pid, seq, ts, path: path(), argv: paths(), flags: int() });
    case EventKind.EXIT:
      return ended(n, kind, 2, { kind: "exit", pid, seq, ts, code: nullableInt(), signal: nullableInt() });
    case EventKind.OPEN:
      return ended(n, kind, 4, { kind: "open", pid, seq, ts, path: path(), flags: int(), fd: int(), stat: stat() });
    case EventKind.RENAME:
      return ended(n, kind, 2, { kind: "rename", pid, seq, ts, from: path(), to: path() });
    case EventKind.LINK:
      return ended(n, kind, 3, { kind: "link", pid, seq, ts, from: path(), to: path(), flags: int() });
    case EventKind.UNLINK:
      return ended(n, kind, 2, { kind: "unlink", pid, seq, ts, path: path(), flags: int() });
    case EventKind.TRUNCATE:
      return ended(n, kind, 1, { kind: "truncate", pid, seq, ts, path: path() });
    case EventKind.CHDIR:
      return ended(n, kind, 1, { kind: "chdir", pid, seq, ts, path: path() });
    case EventKind.INCOMPLETE:
      return ended(n, kind, 2, { kind: "incomplete", pid, seq, ts, reason: text(), detail: path() });
    case EventKind.DROPPED:
      return ended(n, kind, 1, { kind: "dropped", pid, seq, ts, count: int() });
    case EventKind.PREWRITE: {
      const path_ = path();
      const st = stat();
      if (!st) throw new Error("bad PREWRITE record in trace (no stat)");
      const mode = int();
      const copy = nullablePath();
      return ended(n, kind, 4, { kind: "prewrite", pid, seq, ts, path: path_, stat: st, mode, copy });
    }
    case EventKind.NET: {
      const op = int() === NetOps.ACCEPT ? "accept" : "connect";
      const length = bytesLength();
      need(length);
      const address = sockaddrText(buf.subarray(pos, pos + length));
      pos += length;
      return ended(n, kind, 2, { kind: "net", pid, seq, ts, op, address });
    }
    default:
      throw new Error(`unknown trace record kind ${kind}`);
  }
}

/**
 * A decoded record whose kind has `own` fields after the 4 common ones: checks that the record had them all,
 * then skips the fields a newer writer appended.
 */
function ended(n: number, kind: number, own: number, e: TraceEvent): TraceEvent {
  const used = 4 + own;
  if (used > n) throw new Error(`trace record of kind ${kind} has ${n} fields, fewer than its ${used}`);
  for (let i = used; i < n; i++) skip();
  return e;
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

function checked(e: TraceEvent): TraceEvent {
  if (e.kind === "header" && e.abi !== TRACER_ABI_VERSION) {
    throw new Error(`tracer event stream has ABI version ${e.abi}, this roar reads ${TRACER_ABI_VERSION}`);
  }
  return e;
}

// Run once per record of a job (tens of thousands): see shared/jit.ts.
keepOutOfTopTier(record, int, stat, path);
