/**
 * BLAKE3 through blake3-wasm's emscripten module, used directly rather than through its JS wrapper: the wrapper's
 * `update()` hashes a wrong length for inputs over its 1 MiB scratch buffer, and every hasher it creates must be
 * disposed or the fixed 16 MiB wasm heap runs out after ~6,000 of them. Here every update is at most
 * WASM_MAX_UPDATE bytes and each hasher is freed as soon as it is finalized.
 */
import { readFileSync } from "node:fs";
// Imported as a file so that `bun build --compile` embeds the wasm binary; it is then passed in as wasmBinary.
import wasmPath from "blake3-wasm/dist/wasm/blake3.wasm" with { type: "file" };
import createBlake3Module, { type Blake3EmscriptenModule } from "blake3-wasm/esm/wasm/blake3.mjs";

/** Largest single update handed to the wasm hasher (and the size of the read buffer kept in the wasm heap). */
export const WASM_MAX_UPDATE = 1024 * 1024;
const OUT_LEN = 32;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** One streaming BLAKE3 computation inside the wasm heap. `finish()` or `dispose()` frees it. */
export interface WasmHasher {
  update(data: Uint8Array): void;
  /** Hashes `length` bytes already in the wasm heap at `pointer` (see `WasmBlake3.buffer`): no copy. */
  updateFromHeap(pointer: number, length: number): void;
  /** The hex digest; frees the hasher. */
  finish(): string;
  dispose(): void;
}

export class WasmBlake3 {
  /** A WASM_MAX_UPDATE-byte buffer inside the wasm heap, so file reads can land where the hasher reads them. */
  readonly buffer: number;
  private readonly out: number;

  constructor(private readonly module: Blake3EmscriptenModule) {
    this.buffer = module._malloc(WASM_MAX_UPDATE);
    this.out = module._malloc(OUT_LEN);
    if (!this.buffer || !this.out) throw new Error("blake3-wasm: cannot allocate buffers in the wasm heap");
  }

  /** The wasm heap. Re-read on every use: a heap that grows gets a new ArrayBuffer. */
  get heap(): Uint8Array {
    return this.module.HEAPU8;
  }

  createHasher(): WasmHasher {
    const module = this.module;
    let hasher = module._hasher_init();
    if (!hasher) throw new Error("blake3-wasm: out of wasm memory");
    const ensureOpen = (): number => {
      if (!hasher) throw new Error("blake3-wasm: hasher used after finish/dispose");
      return hasher;
    };
    const self = this;
    return {
      update(data: Uint8Array): void {
        const h = ensureOpen();
        for (let offset = 0; offset < data.byteLength; offset += WASM_MAX_UPDATE) {
          const piece = data.subarray(offset, Math.min(data.byteLength, offset + WASM_MAX_UPDATE));
          module.HEAPU8.set(piece, self.buffer);
          module._hasher_update(h, self.buffer, piece.byteLength);
        }
      },
      updateFromHeap(pointer: number, length: number): void {
        if (length > WASM_MAX_UPDATE) throw new RangeError(`blake3-wasm: update of ${length} bytes exceeds 1 MiB`);
        module._hasher_update(ensureOpen(), pointer, length);
      },
      finish(): string {
        const h = ensureOpen();
        module._hasher_read(h, 0, 0, self.out, OUT_LEN);
        const digest = toHex(module.HEAPU8.subarray(self.out, self.out + OUT_LEN));
        module._free(h);
        hasher = 0;
        return digest;
      },
      dispose(): void {
        if (hasher) module._free(hasher);
        hasher = 0;
      },
    };
  }

  hashBytes(data: Uint8Array): string {
    const hasher = this.createHasher();
    try {
      hasher.update(data);
      return hasher.finish();
    } finally {
      hasher.dispose();
    }
  }
}

let loading: Promise<WasmBlake3> | undefined;

/** Loads (once per thread) blake3-wasm's module from the embedded wasm file. */
export function loadWasmBlake3(): Promise<WasmBlake3> {
  loading ??= instantiate();
  return loading;
}

async function instantiate(): Promise<WasmBlake3> {
  // Under Node-like runtimes the emscripten glue installs process-wide uncaughtException/unhandledRejection
  // handlers that rethrow; they would change how the CLI reports errors, so they are removed again.
  const before = {
    uncaughtException: new Set(process.listeners("uncaughtException")),
    unhandledRejection: new Set(process.listeners("unhandledRejection")),
  };
  try {
    const module = await createBlake3Module({ wasmBinary: readFileSync(wasmPath) });
    return new WasmBlake3(module);
  } finally {
    for (const event of ["uncaughtException", "unhandledRejection"] as const) {
      for (const listener of process.listeners(event)) {
        if (!before[event].has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
