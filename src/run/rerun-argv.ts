/**
 * `roar run @N [--key=value | --key value]...`: the recorded argv of step N with overrides applied on its tokens
 * (an option the step never had only with --add); `@BN` re-runs a build step. The job stays step N whatever its
 * outcome, and runs where it ran before.
 */
import { isAbsolute, join } from "node:path";
import { absentOverrides, applyOverrides, longOptions, parseRerunArgs } from "../core/overrides.ts";
import { stepList, upstreamStaleSteps } from "../core/staleness.ts";
import type { JobKind } from "../core/types.ts";
import { RoarError } from "../shared/errors.ts";
import type { Project } from "../store/project.ts";
import type { RoarStore } from "../store/store.ts";
import { loadFreshDag } from "./freshness.ts";
import { resolveStepRefInStore } from "./step-refs.ts";

/** What `roar run` runs: the command given, or a recorded step (`@N`) with its overrides. */
export interface JobCommand {
  argv: string[];
  kind: JobKind;
  cwd: string;
  /** `@N`: the step the job re-runs. */
  step?: number;
  /** `--recorded-env`: the [env] values the step was recorded with. */
  recordedEnv?: Record<string, string>;
  /** `@N`: how it was written (for the "Re-running" note). */
  refText?: string;
}

export interface RerunOptions {
  kind: JobKind;
  cwd: string;
  /** --add: append options the step's recorded command does not have. */
  add: boolean;
  /** --recorded-env: run with the [env] values the step recorded. */
  recordedEnv: boolean;
  /** The step's upstream is stale: `warning` says which; resolves to go on anyway, throws to refuse. */
  onStaleUpstream: (warning: string[]) => Promise<void>;
}

export async function jobCommand(
  argv: string[],
  store: RoarStore,
  sessionId: number,
  project: Project,
  options: RerunOptions,
): Promise<JobCommand> {
  if (!argv[0]?.startsWith("@")) return { argv, kind: options.kind, cwd: options.cwd };
  const rerun = parseRerunArgs(argv);
  const job = resolveStepRefInStore(store, rerun.refText, sessionId);
  if (job.kind === "get" || job.kind === "put")
    throw new RoarError(`${rerun.refText} is a ${job.kind} step: run 'roar ${job.kind}' again to repeat it`);
  const absent = absentOverrides(job.argv, rerun.overrides);
  if (absent.length > 0 && !options.add) {
    const longs = longOptions(job.argv);
    throw new RoarError(
      `step ${rerun.refText} has no option ${absent.map((o) => o.key).join(", ")}; its options: ${longs.length > 0 ? longs.join(", ") : "none"}`,
      125,
      `hint: 'roar run --add ${rerun.refText} ${absent.map((o) => `${o.key}=${o.value}`).join(" ")}' appends ${absent.length > 1 ? "them" : "it"}`,
    );
  }
  const dag = await loadFreshDag(store, project, sessionId);
  const stale = upstreamStaleSteps(dag, job.step);
  if (stale.length > 0) {
    await options.onStaleUpstream([
      `warning: step ${rerun.refText} depends on stale upstream steps: ${stepList(dag, stale)}`,
      "Re-running it alone would consume outdated inputs; re-run those steps first ('roar rerun').",
    ]);
  }
  // The step runs where it ran before, wherever `roar run @N` is typed.
  const cwd = isAbsolute(job.cwd) ? job.cwd : join(project.root, job.cwd);
  const env = options.recordedEnv ? ((job.metadata.env ?? {}) as Record<string, string>) : undefined;
  return {
    argv: applyOverrides(job.argv, rerun.overrides),
    kind: job.kind === "build" ? "build" : "run",
    cwd,
    step: job.step,
    recordedEnv: env,
    refText: rerun.refText,
  };
}
