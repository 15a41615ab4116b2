import { RoarError } from "../core/errors.ts";
import { backends } from "./backends.ts";
import type { BackendName, TracerBackend } from "./types.ts";

export type TracerChoice = "auto" | BackendName;

export interface BackendStatus {
  name: BackendName;
  usable: boolean;
  reason: string;
  library: string | null;
}

export function backendStatuses(): BackendStatus[] {
  return Object.values(backends).map((b) => ({ name: b.name, ...b.probe() }));
}

/** auto: the most complete backend that works here (ptrace), else preload. Decided by probes, never by retries. */
export function autoChoice(statuses: BackendStatus[] = backendStatuses()): BackendName | null {
  for (const name of ["ptrace", "preload"] as const) if (statuses.find((s) => s.name === name)?.usable) return name;
  return null;
}

export function selectBackend(choice: TracerChoice): TracerBackend {
  if (choice !== "auto") {
    const backend = backends[choice];
    const status = backend.probe();
    if (!status.usable)
      throw new RoarError(
        `the ${choice} tracer is not usable here: ${status.reason}`,
        125,
        "See 'roar tracer status'.",
      );
    return backend;
  }
  const statuses = backendStatuses();
  const name = autoChoice(statuses);
  if (!name) {
    const reasons = statuses.map((s) => `${s.name}: ${s.reason}`).join("; ");
    throw new RoarError(
      `no usable tracer (${reasons})`,
      125,
      "Build the tracers with 'bun build.ts' and see 'roar tracer status'.",
    );
  }
  return backends[name];
}
