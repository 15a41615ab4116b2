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

/** Decodes a whole event stream; checks the header's ABI version when there is one. */
export function decodeStream(bytes: Uint8Array): DecodedStream {
  const events: TraceEvent[] = [];
  let truncatedTail = false;
  try {
    unpackr.unpackMultiple(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (value: unknown) => {
      if (Array.isArray(value)) events.push(decodeRecord(value));
    });
  } catch (error) {
    if (error instanceof Error && /end of buffer|Unexpected end/i.test(error.message)) truncatedTail = true;
    else throw error;
  }
  for (const e of events) {
    if (e.kind === "header" && e.abi !== TRACER_ABI_VERSION) {
      throw new Error(`tracer event stream has ABI version ${e.abi}, this roar reads ${TRACER_ABI_VERSION}`);
    }
  }
  return { events, truncatedTail };
}
