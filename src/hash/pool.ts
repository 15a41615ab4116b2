/**
 * A pool of long-lived hash workers, one per core. Each worker loads its BLAKE3 kernel once; batches of files
 * go to the least busy worker. Idle workers are unref'd so an idle pool never keeps the process alive; `close()`
 * terminates them.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isCompiled, workerSpecifier } from "../shared/self.ts";
import type { ExtraAlgorithm } from "./algorithms.ts";
import type { FileHashOptions, FileHashOutcome, KernelChoice, KernelName } from "./file.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

/** The workers could not be started (worker script missing from a compiled binary, kernel failed to load). */
export class HashPoolStartError extends Error {}

let workerOverride: URL | undefined;

/** Where the worker script is, for bundles laid out differently from what `workerUrl` looks for. */
export function setHashWorkerUrl(url: URL | string): void {
  workerOverride = typeof url === "string" ? new URL(url, "file:///") : url;
}

/**
 * The worker script. From the source tree it sits next to this module. In a bundle (`bun build --compile` with
 * src/hash/worker.ts as an extra entrypoint) import.meta.url is the bundle's entry file and the worker is stored
 * as .js relative to the entrypoints' common directory, so the likely places are probed.
 */
function workerUrl(): URL | string {
  if (workerOverride) return workerOverride;
  const here = new URL(import.meta.url);
  if (isCompiled()) return workerSpecifier("src/hash/worker.ts", here);
  if (/\/pool\.[jt]s$/.test(here.pathname)) return new URL("./worker.ts", here);
  for (const candidate of ["./src/hash/worker.js", "./hash/worker.js", "./worker.js"]) {
    const url = new URL(candidate, here);
    if (existsSync(decodeURIComponent(url.pathname))) return url;
  }
  return new URL("./worker.ts", here);
}

interface PendingBatch {
  resolve(results: FileHashOutcome[]): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, PendingBatch>;
  ready: Promise<{ kernel: KernelName; fallbackReason: string }>;
  dead: boolean;
}

export class HashPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private startError: HashPoolStartError | undefined;

  constructor(
    readonly kernelChoice: KernelChoice,
    size: number = availableParallelism(),
  ) {
    this.size = Math.max(1, size);
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Which kernel the workers ended up with (and why not native, when they fell back to wasm). */
  get ready(): Promise<{ kernel: KernelName; fallbackReason: string }> {
    return this.slots[0]?.ready ?? Promise.reject(new Error("hash pool is empty"));
  }

  private spawn(): Slot {
    const worker = new Worker(workerUrl());
    const slot: Slot = {
      worker,
      pending: new Map(),
      ready: Promise.resolve({ kernel: "wasm", fallbackReason: "" }),
      dead: false,
    };
    let startFailed: (error: Error) => void = () => {};
    slot.ready = new Promise((resolve, reject) => {
      startFailed = (error) => reject(new HashPoolStartError(error.message));
      const timer = setTimeout(() => reject(new HashPoolStartError("hash worker did not start within 15 s")), 15_000);
      timer.unref();
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        switch (message.type) {
          case "ready":
            clearTimeout(timer);
            resolve({ kernel: message.kernel, fallbackReason: message.fallbackReason });
            break;
          case "init-failed":
            clearTimeout(timer);
            reject(new HashPoolStartError(message.error));
            break;
          case "done":
          case "failed": {
            const pending = slot.pending.get(message.id);
            if (!pending) break;
            slot.pending.delete(message.id);
            if (slot.pending.size === 0) worker.unref();
            if (message.type === "done") pending.resolve(message.results);
            else pending.reject(new Error(message.error));
            break;
          }
        }
      };
    });
    slot.ready.catch(() => {});
    const fail = (reason: string) => {
      slot.dead = true;
      startFailed(new Error(`hash worker failed to start: ${reason}`));
      for (const pending of slot.pending.values()) pending.reject(new Error(`hash worker died: ${reason}`));
      slot.pending.clear();
    };
    worker.addEventListener("error", (event) => fail((event as ErrorEvent).message ?? "error"));
    worker.addEventListener("close", () => fail("exited"));
    worker.postMessage({ type: "init", kernel: this.kernelChoice } satisfies ToWorker);
    worker.unref();
    return slot;
  }

  /** Hashes `paths` in one worker; per-file problems come back as error outcomes, not rejections. */
  async hashBatch(
    paths: string[],
    algorithms: readonly ExtraAlgorithm[],
    options: FileHashOptions = {},
  ): Promise<FileHashOutcome[]> {
    if (this.closed) throw new Error("hash pool is closed");
    if (this.startError) throw this.startError;
    const index = this.leastBusySlot();
    let slot = this.slots[index];
    if (!slot || slot.dead) {
      slot = this.spawn();
      this.slots[index] = slot;
    }
    // Posted at once, not after the worker is ready: it takes messages in order (its kernel first), and a caller
    // that hashes in its own thread meanwhile (hashFiles) would otherwise hold the batch back until it is done.
    const id = this.nextId++;
    const target = slot;
    const done = new Promise<FileHashOutcome[]>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.ref();
      target.worker.postMessage({
        type: "hash",
        id,
        paths,
        algorithms: [...algorithms],
        options,
      } satisfies ToWorker);
    });
    done.catch(() => {}); // rejected along with `ready` when the worker dies: reported through `ready` below
    try {
      await target.ready;
    } catch (err) {
      target.pending.delete(id);
      // Remembered so later batches go straight to the caller's fallback instead of spawning doomed workers.
      if (err instanceof HashPoolStartError) this.startError = err;
      throw err;
    }
    return done;
  }

  private leastBusySlot(): number {
    let best = 0;
    let bestLoad = Number.POSITIVE_INFINITY;
    this.slots.forEach((slot, i) => {
      const load = slot.dead ? -1 : slot.pending.size;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    });
    return best;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      for (const pending of slot.pending.values()) pending.reject(new Error("hash pool closed"));
      slot.pending.clear();
      slot.dead = true;
      slot.worker.terminate();
    }
  }
}
