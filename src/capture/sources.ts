/**
 * Every capture source, in the order their facts are merged into the job (see capture/source.ts), and the
 * capture of one job's environment. A new source is a module exporting a CaptureSource, and one line here.
 */
import { dpkgSource } from "./dpkg.ts";
import { gitSource } from "./git.ts";
import { pythonSource } from "./python.ts";
import { gpuSource, runtimeSource } from "./runtime.ts";
import { type CaptureContext, type CaptureSource, type Fact, mergeFacts, type PendingFact } from "./source.ts";

export const CAPTURE_SOURCES: readonly CaptureSource[] = [
  gitSource,
  pythonSource,
  dpkgSource,
  runtimeSource,
  gpuSource,
];

/** One job's environment: the sources that start with the job, then every source's fact after the trace. */
export class EnvironmentCapture {
  private readonly pending = new Map<CaptureSource, PendingFact>();

  constructor(private readonly sources: readonly CaptureSource[] = CAPTURE_SOURCES) {}

  /** The job has really started (its pid is known): slow probes run from now on, alongside it. */
  jobStarted(): void {
    for (const source of this.sources)
      if (source.start && !this.pending.has(source)) this.pending.set(source, source.start());
  }

  /** The job never ran, or roar failed: stop what was started. */
  cancel(): void {
    for (const pending of this.pending.values()) pending.cancel();
    this.pending.clear();
  }

  /** Every source's fact (in parallel where they spawn), merged: the job's git field and metadata. */
  async collect(ctx: CaptureContext): Promise<ReturnType<typeof mergeFacts>> {
    const facts: Fact[] = await Promise.all(
      this.sources.map((source) => this.pending.get(source)?.fact ?? source.capture(ctx)),
    );
    return mergeFacts(facts);
  }
}
