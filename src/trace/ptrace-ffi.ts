/**
 * The C ABI of libroar_ptrace (rust/crates/roar-ptrace/src/lib.rs): probe, and runs (plain ptrace or hybrid)
 * started on a native thread (`roar_ptrace_start`), awaited through a pipe (`roar_ptrace_done_fd`) and
 * collected with `roar_ptrace_poll`.
 */
import { type dlopen, FFIType, ptr } from "bun:ffi";
import { constants } from "node:os";
import { dlopenLazily } from "../shared/ffi.ts";
import { sentinelSymbols } from "./sentinel.ts";

// Callers pass the ABI version they expect (no import of schema/events.ts needed here).

export const ptraceSymbols = {
  roar_abi_version: { args: [], returns: FFIType.u32 },
  roar_ptrace_probe: { args: [], returns: FFIType.i32 },
  roar_ptrace_probe_reason: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.u32 },
  /** Starts a run (a `RoarPtraceRequest`, see `encodeStartRequest`) on a native thread; returns a handle > 0
   * or a negative errno (`PtraceErrno`). */
  roar_ptrace_start: { args: [FFIType.ptr], returns: FFIType.i32 },
  /** The read end of a pipe that reaches end of file when the run has finished (-1 if taken); caller closes. */
  roar_ptrace_done_fd: { args: [FFIType.i32], returns: FFIType.i32 },
  /** 1 = finished (result filled, handle freed), 0 = running, -EINVAL = unknown handle; writes the top pid. */
  roar_ptrace_poll: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  ...sentinelSymbols,
} as const;

export type PtraceLibrary = ReturnType<typeof dlopen<typeof ptraceSymbols>>;

/** The negative errnos the library's entry points return (rust/crates/roar-sys/src/errno.rs), by name. */
export const PtraceErrno = {
  /** A malformed request (hybrid spec), or an unknown handle. */
  EINVAL: constants.errno.EINVAL,
  /** No thread could be started for the run. */
  EAGAIN: constants.errno.EAGAIN,
  /** The library's run table is unusable. */
  EIO: constants.errno.EIO,
} as const;

/** What a run is asked to do (`RoarPtraceRequest`); every block is copied before `roar_ptrace_start` returns. */
export interface StartRequest {
  /** NUL-terminated strings back to back. */
  argv: Uint8Array;
  /** NUL-terminated `NAME=value` strings back to back. */
  envp: Uint8Array;
  cwd: Uint8Array;
  eventsPath: Uint8Array;
  /** Empty: plain ptrace. Hybrid: preload library path, preload ROAR_EVENTS_PATH, coverage log path (each NUL-terminated). */
  spec: Uint8Array;
}

/** Size of `RoarPtraceRequest`: five `{ ptr: *const u8, len: u64 }` blocks, in field order. */
export const REQUEST_SIZE = 5 * 16;

/** The `RoarPtraceRequest` for `request`, pointing into its buffers (which must outlive the call). */
export function encodeStartRequest(request: StartRequest): Uint8Array {
  const bytes = new Uint8Array(REQUEST_SIZE);
  const view = new DataView(bytes.buffer);
  const blocks = [request.argv, request.envp, request.cwd, request.eventsPath, request.spec];
  blocks.forEach((block, i) => {
    // bun:ffi has no pointer to an empty buffer: null with length 0, as the library expects.
    view.setBigUint64(i * 16, block.length > 0 ? BigInt(ptr(block)) : 0n, true);
    view.setBigUint64(i * 16 + 8, BigInt(block.length), true);
  });
  return bytes;
}

/** Starts a run: a handle > 0, or a negative errno (`PtraceErrno`). */
export function startPtraceRun(lib: PtraceLibrary, request: StartRequest): number {
  return lib.symbols.roar_ptrace_start(encodeStartRequest(request));
}

/** Size of `RoarPtraceResult`: four i32, a 512-byte message, a u64 and two u32. */
export const RESULT_SIZE = 16 + 512 + 16;

export interface RunResult {
  exitCode: number;
  signal: number;
  spawnError: number;
  tracerErrno: number;
  message: string;
  /** Records that could not be written to the events file (a full disk). */
  lostEvents: number;
  /** Hybrid: the coverage log could not be written. */
  coverageLost: boolean;
}

export function parseRunResult(buf: Uint8Array): RunResult {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const msg = buf.subarray(16, 16 + 512);
  const end = msg.indexOf(0);
  return {
    exitCode: view.getInt32(0, true),
    signal: view.getInt32(4, true),
    spawnError: view.getInt32(8, true),
    tracerErrno: view.getInt32(12, true),
    message: new TextDecoder().decode(msg.subarray(0, end < 0 ? 512 : Math.min(end, 512))),
    lostEvents: Number(view.getBigUint64(528, true)),
    coverageLost: view.getUint32(536, true) !== 0,
  };
}

/** Opens the library and refuses one built for another event ABI (a stale cargo build, a mixed install). */
export function openPtraceLibrary(path: string, expectedAbi: number): PtraceLibrary {
  const lib = dlopenLazily(path, ptraceSymbols);
  const abi = lib.symbols.roar_abi_version();
  if (abi !== expectedAbi) {
    lib.close();
    throw new Error(
      `${path} speaks tracer ABI ${abi} but this roar reads ABI ${expectedAbi}; rebuild it (cargo build --release in rust/) or reinstall roar`,
    );
  }
  return lib;
}
