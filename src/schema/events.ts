/**
 * TypeScript mirror of the tracer event contract (rust/crates/roar-events/README.md). Paths arrive as raw
 * bytes and are decoded with "surrogateescape" (see src/shared/paths.ts) so no byte of a file name is lost.
 */
import type { Static } from "typebox";
import type { buildSchemas } from "./event-schemas.ts";

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

export type OpenStat = Static<ReturnType<typeof buildSchemas>["OpenStat"]>;
export type TraceEvent = Static<ReturnType<typeof buildSchemas>["TraceEvent"]>;
export type TraceEventOf<K extends TraceEvent["kind"]> = Extract<TraceEvent, { kind: K }>;
