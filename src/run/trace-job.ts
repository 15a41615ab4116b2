/**
 * Running the command under a tracer, with roar's signal handling: signals roar receives pass to the command;
 * a second Ctrl-C kills it and aborts without recording. The environment capture starts once the command has
 * really started (slow probes run while it does).
 */
import { join } from "node:path";
import type { EnvironmentCapture } from "../capture/sources.ts";
import { endCpuRoom, leaveCpuToJob, makeCpuRoom, prepareExitAside } from "../hash/native-process.ts";
import { normalJitPolicy } from "../shared/jit-options.ts";
import { mark } from "../shared/timing.ts";
import type { RunningTrace, TraceOutcome, TraceRequest, TracerBackend } from "../trace/types.ts";
import { removeAbandonedTempDirs } from "./in-flight.ts";

export interface TracedRun {
  outcome: TraceOutcome;
  /** Roar was interrupted (SIGINT) while the command ran. */
  interrupted: boolean;
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

export async function traceJob(
  backend: TracerBackend,
  request: TraceRequest,
  run: {
    roarDir: string;
    environment: EnvironmentCapture;
    /** A second interrupt: the command is killed; this cleans up and exits. */
    onAbort: () => void;
  },
): Promise<TracedRun> {
  let interrupts = 0;
  let running: RunningTrace | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === "SIGINT") {
      interrupts++;
      if (interrupts >= 2) {
        running?.kill("SIGKILL");
        run.onAbort();
      }
    }
    // Sent to the whole process group (a terminal's Ctrl-C, `timeout`), the command has it already.
    running?.forward(signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    // While the command runs, roar's own threads leave it a CPU (its tracer threads excepted: under ptrace they
    // keep to that CPU, beside the job); they have them all back for the recording, from the moment it ends.
    const ended = request.ended;
    let over = false;
    running = backend.start({
      ...request,
      ended: () => {
        over = true;
        endCpuRoom();
        ended?.();
      },
    });
    const pinTracers = backend.name === "ptrace";
    makeCpuRoom(pinTracers);
    prepareExitAside();
    removeAbandonedTempDirs();
    removeAbandonedTempDirs(join(run.roarDir, "tmp"));
    running.pid.then(
      (pid) => {
        if (pid <= 0) return;
        normalJitPolicy(); // roar's start-up is over (src/shared/jit-options.ts)
        run.environment.jobStarted();
        if (!over) leaveCpuToJob(pid, pinTracers);
      },
      () => {},
    );
    const outcome = await running.done;
    mark("trace");
    return { outcome, interrupted: interrupts > 0 };
  } catch (error) {
    run.environment.cancel();
    throw error;
  } finally {
    endCpuRoom();
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
