import { hybridBackend } from "./hybrid.ts";
import { preloadBackend } from "./preload.ts";
import { ptraceBackend } from "./ptrace.ts";
import type { BackendName, TracerBackend } from "./types.ts";

export const backends: Record<BackendName, TracerBackend> = {
  ptrace: ptraceBackend,
  preload: preloadBackend,
  hybrid: hybridBackend,
};
