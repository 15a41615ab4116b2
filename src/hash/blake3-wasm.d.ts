// Types for the parts of blake3-wasm 3.0.0 that roar uses directly: the emscripten factory and its wasm file.

declare module "blake3-wasm/esm/wasm/blake3.mjs" {
  /** The emscripten module: raw exports of the Rust blake3 crate compiled to wasm. Pointers are heap offsets. */
  export interface Blake3EmscriptenModule {
    HEAPU8: Uint8Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _hasher_init(): number;
    _hasher_update(hasher: number, data: number, length: number): void;
    /** Reads `length` output bytes starting at the 64-bit offset (seekHigh << 32 | seekLow). */
    _hasher_read(hasher: number, seekHigh: number, seekLow: number, out: number, length: number): void;
  }
  export default function createBlake3Module(overrides?: { wasmBinary?: Uint8Array }): Promise<Blake3EmscriptenModule>;
}

declare module "blake3-wasm/dist/wasm/blake3.wasm" {
  /** With `with { type: "file" }`: a path that works both from source and inside a `bun build --compile` binary. */
  const path: string;
  export default path;
}
