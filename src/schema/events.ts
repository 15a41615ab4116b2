/**
 * TypeScript mirror of the tracer event contract (rust/crates/roar-events/README.md). Paths arrive as raw
 * bytes and are decoded with "surrogateescape" (see src/shared/paths.ts) so no byte of a file name is lost.
 */
import Type, { type Static } from "typebox";

export const TRACER_ABI_VERSION = 4;

export const EventKind = {
  HEADER: 0,
  PROC_START: 1,
  FORK: 2,
  EXEC: 3,
  EXIT: 4,
  OPEN: 5,
  RENAME: 6,
  LINK: 7,
  UNLINK: 8,
  TRUNCATE: 9,
  CHDIR: 10,
  INCOMPLETE: 11,
  DROPPED: 12,
  PREWRITE: 13,
  NET: 14,
} as const;

export const ForkFlags = { VFORK: 1, THREAD: 2 } as const;
export const ExecFlags = { STATIC: 1, PRELOAD_INTACT: 2, SETUID: 4 } as const;
export const LinkFlags = { SYMLINK: 1 } as const;
export const UnlinkFlags = { DIR: 1 } as const;
export const NetOps = { CONNECT: 0, ACCEPT: 1 } as const;

/** Linux O_* bits. ACCMODE/CREAT/EXCL/TRUNC/APPEND are shared by x86_64 and aarch64; DIRECTORY/TMPFILE are x86_64 values (the tracers handle those, see the contract). */
export const OpenFlags = {
  ACCMODE: 0o3,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  DIRECTORY: 0o200000,
  TMPFILE: 0o20200000,
} as const;

/**
 * The event schemas, built when first asked for: roar maps msgpackr's records to events by hand, checking each
 * field (trace/event-record.ts), and uses these for their types, so building them at load would cost every
 * command ~1 ms for nothing.
 */
function buildSchemas() {
  const Base = { pid: Type.Integer(), seq: Type.Integer(), ts: Type.Number() };

  const OpenStat = Type.Object({
    dev: Type.Number(),
    ino: Type.Number(),
    size: Type.Number(),
    mtimeNs: Type.Number(),
    ctimeNs: Type.Number(),
  });

  const TraceEvent = Type.Union([
    Type.Object({ kind: Type.Literal("header"), ...Base, abi: Type.Integer(), backend: Type.String() }),
    Type.Object({
      kind: Type.Literal("proc_start"),
      ...Base,
      ppid: Type.Integer(),
      exe: Type.String(),
      argv: Type.Array(Type.String()),
      cwd: Type.String(),
    }),
    Type.Object({ kind: Type.Literal("fork"), ...Base, child: Type.Integer(), flags: Type.Integer() }),
    Type.Object({
      kind: Type.Literal("exec"),
      ...Base,
      path: Type.String(),
      argv: Type.Array(Type.String()),
      flags: Type.Integer(),
    }),
    Type.Object({
      kind: Type.Literal("exit"),
      ...Base,
      code: Type.Union([Type.Integer(), Type.Null()]),
      signal: Type.Union([Type.Integer(), Type.Null()]),
    }),
    Type.Object({
      kind: Type.Literal("open"),
      ...Base,
      path: Type.String(),
      flags: Type.Integer(),
      fd: Type.Integer(),
      stat: Type.Union([OpenStat, Type.Null()]),
    }),
    Type.Object({ kind: Type.Literal("rename"), ...Base, from: Type.String(), to: Type.String() }),
    Type.Object({
      kind: Type.Literal("link"),
      ...Base,
      from: Type.String(),
      to: Type.String(),
      flags: Type.Integer(),
    }),
    Type.Object({ kind: Type.Literal("unlink"), ...Base, path: Type.String(), flags: Type.Integer() }),
    Type.Object({ kind: Type.Literal("truncate"), ...Base, path: Type.String() }),
    Type.Object({ kind: Type.Literal("chdir"), ...Base, path: Type.String() }),
    Type.Object({ kind: Type.Literal("incomplete"), ...Base, reason: Type.String(), detail: Type.String() }),
    Type.Object({ kind: Type.Literal("dropped"), ...Base, count: Type.Integer() }),
    /** An existing file before the job first changed it; `copy` names the kept bytes in the capture directory. */
    Type.Object({
      kind: Type.Literal("prewrite"),
      ...Base,
      path: Type.String(),
      stat: OpenStat,
      mode: Type.Integer(),
      copy: Type.Union([Type.String(), Type.Null()]),
    }),
    /** A network endpoint (internet address and port, "1.2.3.4:80" / "[::1]:80") connected to or accepted from. */
    Type.Object({
      kind: Type.Literal("net"),
      ...Base,
      op: Type.Union([Type.Literal("connect"), Type.Literal("accept")]),
      address: Type.String(),
    }),
  ]);
  return { OpenStat, TraceEvent };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;
export function traceEventSchemas(): ReturnType<typeof buildSchemas> {
  schemas ??= buildSchemas();
  return schemas;
}

export type OpenStat = Static<ReturnType<typeof buildSchemas>["OpenStat"]>;
export type TraceEvent = Static<ReturnType<typeof buildSchemas>["TraceEvent"]>;
export type TraceEventOf<K extends TraceEvent["kind"]> = Extract<TraceEvent, { kind: K }>;
