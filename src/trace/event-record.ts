import { Unpackr } from "msgpackr/unpack-no-eval";
import { EventKind, NetOps, type OpenStat, TRACER_ABI_VERSION, type TraceEvent } from "../schema/events.ts";
import { keepOutOfTopTier } from "../shared/jit.ts";
import { bytesToPath } from "../shared/paths.ts";
import { sockaddrText } from "./sockaddr.ts";

/*
 * The record reader (events.ts feeds it a stream). Records are msgpack arrays (rust/crates/roar-events/README.md)
 * decoded by msgpackr, then mapped to typed events here, checking each field's type.
 * The unpack-only entry of msgpackr: its main entry also loads the optional native extractor, which costs
 * every process ~6 ms at start (bench/event-decoder.ts).
 */

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "number" });

type Field = unknown;

/** What a msgpack value decoded as, for an error message. */
function shapeOf(v: Field): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "array";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof Map || (typeof v === "object" && v.constructor === Object)) return "map";
  return typeof v;
}

function bad(what: string, v: Field): never {
  throw new Error(`bad ${what} in trace (got ${shapeOf(v)})`);
}

function int(v: Field): number {
  return typeof v === "number" ? v : bad("integer", v);
}

function nullableInt(v: Field): number | null {
  return v === null ? null : int(v);
}

function path(v: Field): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) {
    // A bin value is a view of the Buffer decodeRecords was given, so a Buffer itself. ASCII and valid UTF-8
    // decode natively; only names with invalid bytes take the escaping route.
    const text = (v as Buffer).toString("utf8");
    return text.includes("\uFFFD") ? bytesToPath(v) : text;
  }
  return bad("path value", v);
}

function text(v: Field): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return (v as Buffer).toString("utf8");
  return bad("text value", v);
}

function nullablePath(v: Field): string | null {
  return v === null ? null : path(v);
}

function paths(v: Field): string[] {
  if (!Array.isArray(v)) return bad("path list", v);
  const out = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = path(v[i]);
  return out;
}

function stat(v: Field): OpenStat | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 5) throw new Error("bad stat in trace (expected 5 fields)");
  return { dev: int(v[0]), ino: int(v[1]), size: int(v[2]), mtimeNs: int(v[3]), ctimeNs: int(v[4]) };
}

function has(n: number, kind: number, own: number): void {
  if (4 + own > n) throw new Error(`trace record of kind ${kind} has ${n} fields, fewer than its ${4 + own}`);
}

/** One record (fields in contract order; extra trailing fields a newer writer appended are ignored). */
function toEvent(r: Field): TraceEvent {
  if (!Array.isArray(r)) return bad("record", r);
  const n = r.length;
  const kind = int(r[0]);
  const pid = int(r[1]);
  const seq = int(r[2]);
  const ts = int(r[3]);
  switch (kind) {
    case EventKind.HEADER: {
      has(n, kind, 2);
      const abi = int(r[4]);
      if (abi !== TRACER_ABI_VERSION) {
        throw new Error(`tracer event stream has ABI version ${abi}, this roar reads ${TRACER_ABI_VERSION}`);
      }
      return { kind: "header", pid, seq, ts, abi, backend: text(r[5]) };
    }
    case EventKind.PROC_START:
      has(n, kind, 4);
      return { kind: "proc_start", pid, seq, ts, ppid: int(r[4]), exe: path(r[5]), argv: paths(r[6]), cwd: path(r[7]) };
    case EventKind.FORK:
      has(n, kind, 2);
      return { kind: "fork", pid, seq, ts, child: int(r[4]), flags: int(r[5]) };
    case EventKind.EXEC:
      has(n, kind, 3);
      return { kind: "exec", pid, seq, ts, path: path(r[4]), argv: paths(r[5]), flags: int(r[6]) };
    case EventKind.EXIT:
      has(n, kind, 2);
      return { kind: "exit", pid, seq, ts, code: nullableInt(r[4]), signal: nullableInt(r[5]) };
    case EventKind.OPEN:
      has(n, kind, 4);
      return { kind: "open", pid, seq, ts, path: path(r[4]), flags: int(r[5]), fd: int(r[6]), stat: stat(r[7]) };
    case EventKind.RENAME:
      has(n, kind, 2);
      return { kind: "rename", pid, seq, ts, from: path(r[4]), to: path(r[5]) };
    case EventKind.LINK:
      has(n, kind, 3);
      return { kind: "link", pid, seq, ts, from: path(r[4]), to: path(r[5]), flags: int(r[6]) };
    case EventKind.UNLINK:
      has(n, kind, 2);
      return { kind: "unlink", pid, seq, ts, path: path(r[4]), flags: int(r[5]) };
    case EventKind.TRUNCATE:
      has(n, kind, 1);
      return { kind: "truncate", pid, seq, ts, path: path(r[4]) };
    case EventKind.CHDIR:
      has(n, kind, 1);
      return { kind: "chdir", pid, seq, ts, path: path(r[4]) };
    case EventKind.INCOMPLETE:
      has(n, kind, 2);
      return { kind: "incomplete", pid, seq, ts, reason: text(r[4]), detail: path(r[5]) };
    case EventKind.DROPPED:
      has(n, kind, 1);
      return { kind: "dropped", pid, seq, ts, count: int(r[4]) };
    case EventKind.PREWRITE: {
      has(n, kind, 4);
      const st = stat(r[5]);
      if (!st) throw new Error("bad PREWRITE record in trace (no stat)");
      return { kind: "prewrite", pid, seq, ts, path: path(r[4]), stat: st, mode: int(r[6]), copy: nullablePath(r[7]) };
    }
    case EventKind.NET: {
      has(n, kind, 2);
      const address = r[5];
      if (!(address instanceof Uint8Array)) return bad("socket address", address);
      return {
        kind: "net",
        pid,
        seq,
        ts,
        op: int(r[4]) === NetOps.ACCEPT ? "accept" : "connect",
        address: sockaddrText(address),
      };
    }
    default:
      throw new Error(`unknown trace record kind ${kind}`);
  }
}

function isIncomplete(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { incomplete?: unknown }).incomplete === true;
}

/**
 * Decodes every whole record of `bytes` into `events`; returns how many bytes they took (the rest is a
 * record cut by the end of the input).
 */
export function decodeRecords(bytes: Buffer, events: TraceEvent[]): number {
  let consumed = 0;
  if (bytes.length === 0) return 0;
  try {
    unpackr.unpackMultiple(bytes, (value: unknown, _start?: number, end?: number) => {
      events.push(toEvent(value));
      consumed = end ?? consumed;
    });
  } catch (error) {
    if (!isIncomplete(error)) throw error;
  }
  return consumed;
}

// Run once per record of a job (tens of thousands): see shared/jit.ts.
keepOutOfTopTier(toEvent, path);
