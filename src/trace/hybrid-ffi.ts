/**
 * The C ABI of librust roar_ptrace's hybrid mode (`roar_ptrace_run_hybrid`, rust/crates/roar-ptrace/src/lib.rs),
 * shared by the main thread and the worker that makes the blocking run call.
 */
import { dlopen, FFIType } from "bun:ffi";
import { ptraceSymbols } from "./ptrace-ffi.ts";

// No imports beyond ptrace-ffi.ts: this module is loaded by the worker on every trace (see ptrace-ffi.ts).

export const hybridSymbols = {
  ...ptraceSymbols,
  roar_ptrace_run_hybrid: {
    args: [
      FFIType.ptr,
      FFIType.u32,
      FFIType.ptr,
      FFIType.u32,
      FFIType.ptr,
      FFIType.u32,
      FFIType.ptr,
      FFIType.u32,
      FFIType.ptr,
      FFIType.u32,
      FFIType.ptr,
      FFIType.ptr,
    ],
    returns: FFIType.i32,
  },
} as const;

export type HybridLibrary = ReturnType<typeof dlopen<typeof hybridSymbols>>;

/** Opens the library and refuses one built for another event ABI (see openPtraceLibrary). */
export function openHybridLibrary(path: string, expectedAbi: number): HybridLibrary {
  const lib = dlopen(path, hybridSymbols);
  const abi = lib.symbols.roar_abi_version();
  if (abi !== expectedAbi) {
    lib.close();
    throw new Error(
      `${path} speaks tracer ABI ${abi} but this roar reads ABI ${expectedAbi}; rebuild it (cargo build --release in rust/) or reinstall roar`,
    );
  }
  return lib;
}

/** Worker protocol: a ptrace run message plus the hybrid spec block. */
export interface HybridRunMessage {
  libraryPath: string;
  abiVersion: number;
  argv: Uint8Array;
  envp: Uint8Array;
  cwd: Uint8Array;
  eventsPath: Uint8Array;
  /** NUL-terminated: preload library path, preload ROAR_EVENTS_PATH, coverage log path. */
  spec: Uint8Array;
  pidCell: Int32Array;
}
