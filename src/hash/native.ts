/**
 * The native BLAKE3 kernel (rust/hash → libroar_hash.so) through bun:ffi. This and src/trace are the only users
 * of bun:ffi. When the library is missing or has another ABI version, callers fall back to blake3-wasm.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { errnoName } from "../shared/errors.ts";
import { findLibrary } from "../shared/native.ts";
import { toHex } from "./wasm.ts";

export const NATIVE_ABI_VERSION = 1;
const OUT_LEN = 32;

const symbols = {
  roar_abi_version: { args: [], returns: FFIType.u32 },
  roar_hash_bytes: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.void },
  roar_hasher_new: { args: [], returns: FFIType.ptr },
  roar_hasher_update: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.void },
  roar_hasher_finalize: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  roar_hasher_free: { args: [FFIType.ptr], returns: FFIType.void },
  roar_hash_fd: {
    args: [FFIType.i32, FFIType.u32, FFIType.u32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
} as const;

type NativeSymbols = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

/** An errno returned by the native kernel, shaped like node:fs errors (`code` = "ENOENT", ...). */
export class NativeHashError extends Error {
  constructor(
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${code}: native hash failed (errno ${errno})`);
  }
}

export interface NativeHasher {
  update(data: Uint8Array): void;
  finish(): string;
  dispose(): void;
}

export class NativeBlake3 {
  private readonly out = new Uint8Array(OUT_LEN);
  private readonly hashedLength = new BigUint64Array(1);

  constructor(
    private readonly lib: NativeSymbols,
    readonly path: string,
  ) {}

  hashBytes(data: Uint8Array): string {
    // bun:ffi cannot take a pointer to an empty buffer; any valid pointer will do for length 0.
    this.lib.roar_hash_bytes(data.byteLength ? ptr(data) : ptr(this.out), data.byteLength, ptr(this.out));
    return toHex(this.out);
  }

  /**
   * Hashes the whole file open as `fd` (from offset 0). `threads` 0 uses every core for large files; `mmap` false
   * reads instead of mapping (a mapped file truncated meanwhile would kill the process with SIGBUS).
   */
  hashFd(fd: number, options: { threads?: number; mmap?: boolean } = {}): { blake3: string; size: number } {
    const errno = this.lib.roar_hash_fd(
      fd,
      options.threads ?? 0,
      options.mmap === false ? 0 : 1,
      ptr(this.out),
      ptr(this.hashedLength),
    );
    if (errno !== 0) throw new NativeHashError(errno, errnoName(errno) ?? `ERRNO${errno}`);
    return { blake3: toHex(this.out), size: Number(this.hashedLength[0]) };
  }

  createHasher(): NativeHasher {
    const lib = this.lib;
    const out = this.out;
    let hasher = lib.roar_hasher_new();
    if (!hasher) throw new Error("roar_hash: cannot allocate a hasher");
    return {
      update(data: Uint8Array): void {
        if (!hasher) throw new Error("roar_hash: hasher used after finish/dispose");
        if (data.byteLength) lib.roar_hasher_update(hasher, ptr(data), data.byteLength);
      },
      finish(): string {
        if (!hasher) throw new Error("roar_hash: hasher used after finish/dispose");
        lib.roar_hasher_finalize(hasher, ptr(out));
        hasher = null;
        return toHex(out);
      },
      dispose(): void {
        if (hasher) lib.roar_hasher_free(hasher);
        hasher = null;
      },
    };
  }
}

let loaded: { kernel: NativeBlake3 | null; reason: string } | undefined;

/**
 * The native kernel, or null (with the reason) when libroar_hash is not built, cannot be loaded or has another
 * ABI version. ROAR_HASH_KERNEL=wasm disables it. Loaded once per thread.
 */
export function loadNativeBlake3(): { kernel: NativeBlake3 | null; reason: string } {
  loaded ??= open();
  return loaded;
}

function open(): { kernel: NativeBlake3 | null; reason: string } {
  if (process.env.ROAR_HASH_KERNEL === "wasm") return { kernel: null, reason: "disabled by ROAR_HASH_KERNEL=wasm" };
  const path = findLibrary("roar_hash");
  if (!path) return { kernel: null, reason: "libroar_hash not found (build it with scripts/build-native-hash.ts)" };
  try {
    const lib = dlopen(path, symbols);
    const version = lib.symbols.roar_abi_version();
    if (version !== NATIVE_ABI_VERSION) {
      lib.close();
      return { kernel: null, reason: `${path} has ABI version ${version}, expected ${NATIVE_ABI_VERSION}` };
    }
    return { kernel: new NativeBlake3(lib.symbols, path), reason: "" };
  } catch (err) {
    return { kernel: null, reason: `cannot load ${path}: ${(err as Error).message}` };
  }
}
