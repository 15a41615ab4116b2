/**
 * `roar reproduce --run`: clone the recorded repository into a fresh directory, set up the environment, replay
 * each planned step through roar at its own commit (and recorded diff) with its external inputs in place, then
 * compare every reproduced output with its recorded digest. Never touches the user's checkout.
 */
import { appendFileSync, closeSync, mkdirSync, openSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import {
  expectedOutputs,
  type ReproducePlan,
  type Requirements,
  type VerifiedArtifact,
  type VerifyState,
} from "../../core/reproduce.ts";
import { REDACTED } from "../../core/secrets.ts";
import { shellJoin } from "../../core/shell-words.ts";
import { stepLabel } from "../../core/step.ts";
import type { JobWithIo } from "../../core/types.ts";
import { formatDuration } from "../../core/units.ts";
import { RoarError } from "../../shared/errors.ts";
import { roarProcessEnv } from "../../shared/jit-options.ts";
import { selfCommand } from "../../shared/self.ts";
import type { Presenter } from "../../ui/present.ts";
import { CheckoutState } from "./checkout.ts";
import { createVenv, syncDebianPackages, warnEnvironment } from "./environment.ts";
import { type LocatedInput, placeInputs } from "./inputs.ts";
import { Intermediates } from "./intermediates.ts";

export interface RebuildOptions {
  plan: ReproducePlan;
  inputs: readonly LocatedInput[];
  /** What to clone, and the commit of the target's job. */
  repo: string;
  commit: string;
  dest: string;
  /** `dest` already holds the clone (see cloneRepository). */
  cloned?: boolean;
  /** The roar project's directory inside `dest` (the project may sit in a subdirectory of the repository). */
  projectDir: string;
  /** The user's repository (commits never pushed are fetched from it). */
  localRepo: string;
  requirements: Requirements;
  /** The environment the steps start from (roar's own), and the project's [env] for values stored redacted. */
  baseEnv: Record<string, string>;
  projectEnv: Record<string, string>;
  blob: (digest: string) => Uint8Array | undefined;
  pipAnyVersion: boolean;
  packageSync: boolean;
  confirmPackages: (question: string) => Promise<boolean>;
  note: (message: string) => void;
  /** How argv and tool output quoted in messages are shown (git may echo a remote URL with credentials). */
  shown: Presenter;
}

export interface RebuildReport {
  dest: string;
  durationMs: number;
  artifacts: VerifiedArtifact[];
  target: { blake3: string; path: string | null; state: VerifyState };
  summary: string;
}

/**
 * A recorded interpreter path belongs to the original machine's environment: `/home/u/venv/bin/python3` runs
 * as `python3` from the rebuild's own venv (first on PATH).
 */
function portableArgv(argv: string[]): string[] {
  const [first, ...rest] = argv;
  if (first && isAbsolute(first) && /\/python[0-9.]*$/.test(first)) return [basename(first), ...rest];
  return argv;
}

type Sh = (argv: string[], cwd: string, what: string, env?: Record<string, string>) => void;

/** Runs a command that must succeed; its last lines of stderr (presented) in the error otherwise. */
function runner(shown: Presenter): Sh {
  return (argv, cwd, what, env) => {
    const r = Bun.spawnSync(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      const tail = shown.text(r.stderr.toString().trim().split("\n").slice(-3).join(" / "));
      throw new RoarError(`${what} failed: ${tail || `exit ${r.exitCode}`}`);
    }
  };
}

/** `git clone --no-checkout` of the recorded repository into `dest` (relative remotes resolve in `localRepo`). */
export function cloneRepository(
  o: Pick<RebuildOptions, "repo" | "commit" | "dest" | "localRepo" | "note" | "shown">,
): void {
  o.note(`roar: cloning ${o.shown.text(o.repo)} @ ${o.commit.slice(0, 8)} into ${o.dest}`);
  mkdirSync(dirname(o.dest), { recursive: true });
  runner(o.shown)(["git", "clone", "--quiet", "--no-checkout", o.repo, o.dest], o.localRepo, "git clone");
  appendFileSync(join(o.dest, ".git/info/exclude"), "\n.roar/\n.roar-venv/\n.roar-logs/\n");
}

export async function rebuild(o: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const sh = runner(o.shown);
  const { plan, dest } = o;
  if (!o.cloned) cloneRepository(o);
  const checkout = new CheckoutState(dest, o.localRepo, o.blob, (argv, what) => sh(argv, dest, what), o.note);
  const gitOf = (step: JobWithIo | undefined) => (step?.git ?? {}) as { commit?: string | null; patch?: string };
  checkout.moveTo(gitOf(plan.steps[0]).commit ?? o.commit, gitOf(plan.steps[0]).patch ?? null);
  warnEnvironment(plan.steps, o.note);

  const env = { ...o.baseEnv };
  if (o.requirements.python || Object.keys(o.requirements.pip).length > 0) {
    const venv = join(dest, ".roar-venv");
    createVenv(venv, dest, o.requirements, env, { sh, note: o.note, pipAnyVersion: o.pipAnyVersion });
    env.VIRTUAL_ENV = venv;
    env.PATH = `${join(venv, "bin")}:${env.PATH ?? ""}`;
    delete env.PYTHONHOME;
  }
  if (o.packageSync) await syncDebianPackages(o.requirements.dpkg, o.confirmPackages, o.note);

  const roar = selfCommand();
  mkdirSync(o.projectDir, { recursive: true });
  sh([...roar, "init", "-n"], o.projectDir, "roar init", env);
  const logs = join(dest, ".roar-logs");
  mkdirSync(logs, { recursive: true });
  const intermediates = new Intermediates(plan.steps, o.projectDir, join(logs, "stash"));
  for (const [i, step] of plan.steps.entries()) {
    const stepEnv = { ...env };
    for (const [k, v] of Object.entries(step.metadata.env ?? {})) {
      if (v !== REDACTED) stepEnv[k] = v;
      else if (o.projectEnv[k] !== undefined) stepEnv[k] = o.projectEnv[k] as string;
      else
        o.note(`warning: ${k} was recorded redacted and is not set in this project's [env]; the step runs without it`);
    }
    const label = `[step ${i + 1}/${plan.steps.length}] ${stepLabel(step.step, step.kind)} ${shellJoin(o.shown.argv(step.argv))}`;
    // Each step runs on the code it was recorded with (its commit and uncommitted diff), with its inputs.
    const [commit, patch] = [gitOf(step).commit ?? o.commit, gitOf(step).patch ?? null];
    if (checkout.changes(commit, patch)) intermediates.stashBefore(i);
    checkout.moveTo(commit, patch);
    await intermediates.restoreFor(i);
    try {
      await placeInputs(step, o.inputs, o.projectDir);
    } catch (error) {
      throw new RoarError(`${label}: external input not available: ${(error as Error).message}`);
    }
    o.note(`${label} …`);
    const log = join(logs, `step-${i + 1}.log`);
    const fd = openSync(log, "w");
    const t0 = performance.now();
    const proc = Bun.spawnSync(
      [...roar, step.kind === "build" ? "build" : "run", "--allow-dirty", "-y", ...portableArgv(step.argv)],
      {
        cwd: isAbsolute(step.cwd) ? step.cwd : join(o.projectDir, step.cwd),
        env: roarProcessEnv(stepEnv),
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
      },
    );
    closeSync(fd);
    const took = formatDuration(performance.now() - t0);
    if (proc.exitCode !== 0)
      throw new RoarError(`${label} failed with exit ${proc.exitCode} after ${took}; log: ${log}`);
    o.note(`${label} ok (${took})`);
    await intermediates.record(i);
  }
  return verify(plan, intermediates.produced, dest, performance.now() - started);
}

/** Every output the plan recorded, compared with what the rebuild's steps wrote at the same path. */
function verify(
  plan: ReproducePlan,
  produced: ReadonlyMap<string, string | null>,
  dest: string,
  durationMs: number,
): RebuildReport {
  const artifacts: VerifiedArtifact[] = expectedOutputs(plan).map((e) => {
    const digest = produced.get(e.path) ?? null;
    return {
      path: e.path,
      recorded: e.blake3,
      reproduced: digest,
      state: digest === null ? "missing" : digest === e.blake3 ? "identical" : "differs",
      isTarget: e.blake3 === plan.target.blake3,
    };
  });
  const target = artifacts.find((a) => a.isTarget) ?? artifacts.find((a) => a.path === plan.target.path);
  const count = (state: string) => artifacts.filter((a) => a.state === state).length;
  const state = target?.state ?? "missing";
  return {
    dest,
    durationMs,
    artifacts,
    target: { blake3: plan.target.blake3, path: plan.target.path, state },
    summary: `${count("identical")} identical, ${count("differs")} differ, ${count("missing")} missing — target ${state}`,
  };
}
