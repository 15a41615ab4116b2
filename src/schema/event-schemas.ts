/**
 * The typebox schemas of the tracer events (src/schema/events.ts has the contract's constants and the types
 * derived from these). A module apart: roar maps msgpackr's records to events by hand, checking each field
 * (trace/event-record.ts), so no command needs the schemas at run time, and loading typebox for them would cost
 * every command ~1 ms.
 */
import Type from "typebox";

/** The schemas, built when first asked for. */
export function buildSchemas() {
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
