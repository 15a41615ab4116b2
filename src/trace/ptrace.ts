import type { TracerBackend } from "./types.ts";

// Placeholder until the ptrace backend lands (see issue 3).
export const ptraceBackend: TracerBackend = {
  name: "ptrace",
  probe: () => ({ usable: false, reason: "not built yet", library: null }),
  start: () => {
    throw new Error("the ptrace tracer is not built yet");
  },
};
