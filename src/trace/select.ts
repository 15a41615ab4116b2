import { RoarError } from "../shared/errors.ts";
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

/**
 * auto: hybrid (preload speed, ptrace completeness) where both mechanisms work; else ptrace alone; else preload
 * alone, whose trace then flags what it could not see (static binaries, stripped environments) as incomplete.
 * Decided by probes, never by retries.
 */
export const AUTO_ORDER: readonly BackendName[] = ["hybrid", "ptrace", "preload"];

export function autoChoice(statuses: BackendStatus[] = backendStatuses()): BackendName | null {
  for (const name of AUTO_ORDER) if (statuses.find((s) => s.name === name)?.usable) return name;
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
