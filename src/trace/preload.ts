import type { TracerBackend } from "./types.ts";

// Placeholder until the preload backend lands (see issue 3).
export const preloadBackend: TracerBackend = {
  name: "preload",
  probe: () => ({ usable: false, reason: "not built yet", library: null }),
  start: () => {
    throw new Error("the preload tracer is not built yet");
  },
};
