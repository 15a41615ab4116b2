/** Messages between the hash pool (pool.ts) and its workers (worker.ts). */
import type { ExtraAlgorithm } from "./algorithms.ts";
import type { FileHashOptions, FileHashOutcome, KernelChoice, KernelName } from "./file.ts";

export type ToWorker =
  | { type: "init"; kernel: KernelChoice }
  | {
      type: "hash";
      id: number;
      paths: string[];
      algorithms: ExtraAlgorithm[];
      options: FileHashOptions;
    };

export type FromWorker =
  | { type: "ready"; kernel: KernelName; fallbackReason: string }
  | { type: "init-failed"; error: string }
  | { type: "done"; id: number; results: FileHashOutcome[] }
  | { type: "failed"; id: number; error: string };
