/**
 * Shared body of `roar run` and `roar build`: git gate, tracer, signals, recording, report, exit status
 * (docker-run style: the child's code, 128+N for signal N, 125 for roar's own failure, 126/127 from exec).
 */
import { rmSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { Option } from "clipanion";
import { type GitState, readGitState, workingTreePatch } from "../capture/git.ts";
import { type GpuProbe, probeGpus } from "../capture/runtime.ts";
import { jobJson } from "../core/job-view.ts";
import { absentOverrides, applyOverrides, longOptions, parseRerunArgs } from "../core/overrides.ts";
import { REDACTED, secretDetector } from "../core/secrets.ts";
import { shellJoin } from "../core/shell-words.ts";
import { staleWarnings, stepList, upstreamStaleSteps } from "../core/staleness.ts";
import type { JobKind } from "../core/types.ts";
import { close as closeHashPool, type ExtraAlgorithm, hashBytes, normalizeAlgorithms } from "../hash/index.ts";
import { removeCaptures, setUpCaptures } from "../run/captures.ts";
import { loadSessionDag } from "../run/dag-load.ts";
import { blockingChanges, changeLines } from "../run/dirty-tree.ts";
import { loadFreshDag } from "../run/freshness.ts";
import {
  eventsPathIn,
  privateTempDir,
  registerRun,
  removeAbandonedTempDirs,
  requireTempSpace,
} from "../run/in-flight.ts";
import { recordJob } from "../run/record.ts";
import { resolveStepRefInStore } from "../run/step-refs.ts";
import { asRoarFailure, missingCommandError, RoarError, UsageError } from "../shared/errors.ts";
import { userPath } from "../shared/paths.ts";
import { mark } from "../shared/timing.ts";
import { storeFailure } from "../store/errors.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import { setIdWarnings } from "../trace/incomplete.ts";
import { selectBackend, type TracerChoice } from "../trace/select.ts";
import type { RunningTrace, TraceOutcome } from "../trace/types.ts";
import { formatJson } from "../ui/json.ts";
import { writeFileAtomic } from "../ui/output-file.ts";
import type { Presenter } from "../ui/present.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { runReport } from "../ui/run-report.ts";
import { disableColor } from "../ui/style.ts";
import { ConfiguredCommand } from "./base.ts";

/** What `roar run` runs: the command given, or a recorded step (`@N`) with its overrides. */
interface Resolved {
  argv: string[];
  kind: JobKind;
  cwd: string;
  /** `@N`: the step the job re-runs. */
  step?: number;
  /** `--recorded-env`: the [env] values the step was recorded with. */
  recordedEnv?: Record<string, string>;
}

function tryQuietly(f: () => void): void {
  try {
    f();
  } catch {
    // see the caller
  }
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/** The command ran but its job could not be stored: say why, and what the command itself did. */
function notRecorded(error: unknown, outcome: TraceOutcome, dbPath: string): RoarError {
  const failure = storeFailure(error, dbPath);
  const reason = failure?.reason ?? (error instanceof Error ? error.message : String(error));
  const did = outcome.signal !== null ? `was killed by signal ${outcome.signal}` : `exited ${outcome.exitCode ?? "?"}`;
  const result = new RoarError(`could not record the job (${reason}); the command ${did}`, 125);
  result.cause = error;
  return result;
}

export abstract class TracedCommand extends ConfiguredCommand {
  abstract readonly kind: JobKind;

  tracer = Option.String("--tracer", { description: "Tracer backend: auto, hybrid, ptrace or preload" });
  quiet = Option.Boolean("-q,--quiet", false, { description: "Do not print the report" });
  name = Option.String("-n,--name", { description: "A name for this step" });
  hash = Option.Array("--hash", { description: "Also compute this digest (sha256, sha512, sha1, md5); repeatable" });
  allowDirty = Option.Boolean("--allow-dirty", false, {
    description: "Run with uncommitted changes; the diff against HEAD is stored with the job",
  });
  json = Option.Boolean("--json", false, {
    description: "Print the recorded job as JSON on stdout (after the command's own output; see --json-file)",
  });
  jsonFile = Option.String("--json-file", {
    description: "Write the recorded job as JSON to this file (a channel of its own, apart from the command's stdout)",
  });
  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask (e.g. when re-running a stale step)" });
  add = Option.Boolean("--add", false, {
    description: "With @N: append options the step's recorded command does not have",
  });
  /** `roar rerun` re-runs each step with the [env] values it recorded. */
  recordedEnv = Option.Boolean("--recorded-env", false, { hidden: true });
  noColor = Option.Boolean("--no-color", false, { description: "No colour in roar's own output" });
  argv = Option.Proxy({ required: 1 });
  /** How argv and paths are shown on stderr (secrets redacted, control characters escaped). */
  private shown!: Presenter;

  override async execute(): Promise<number> {
    if (this.argv.length === 0 || this.argv[0] === "") throw missingCommandError(this.kind);
    try {
      return await this.traced();
    } catch (error) {
      // Every failure of roar itself (not of the command) exits 125, like `docker run`.
      throw asRoarFailure(storeFailure(error) ?? error, 125);
    } finally {
      closeHashPool();
    }
  }

  /**
   * `roar run @N [--key=value | --key value]...`: the recorded argv of step N with overrides applied on its
   * tokens (an option the step never had only with --add); `@BN` re-runs a build step. The job stays step N
   * whatever its outcome. Refuses (or asks, on a TTY) when the step's upstream is stale.
   */
  private async resolveArgv(argv: string[], store: RoarStore, sessionId: number, project: Project): Promise<Resolved> {
    if (!argv[0]?.startsWith("@")) return { argv, kind: this.kind, cwd: this.context.cwd };
    const rerun = parseRerunArgs(argv);
    const job = resolveStepRefInStore(store, rerun.refText, sessionId);
    if (job.kind === "get" || job.kind === "put")
      throw new RoarError(`${rerun.refText} is a ${job.kind} step: run 'roar ${job.kind}' again to repeat it`);
    const absent = absentOverrides(job.argv, rerun.overrides);
    if (absent.length > 0 && !this.add) {
      const options = longOptions(job.argv);
      throw new RoarError(
        `step ${rerun.refText} has no option ${absent.map((o) => o.key).join(", ")}; its options: ${options.length > 0 ? options.join(", ") : "none"}`,
        125,
        `hint: 'roar run --add ${rerun.refText} ${absent.map((o) => `${o.key}=${o.value}`).join(" ")}' appends ${absent.length > 1 ? "them" : "it"}`,
      );
    }
    const dag = await loadFreshDag(store, project, sessionId);
    const stale = upstreamStaleSteps(dag, job.step);
    if (stale.length > 0) {
      this.note(`warning: step ${rerun.refText} depends on stale upstream steps: ${stepList(dag, stale)}`);
      this.note("Re-running it alone would consume outdated inputs; re-run those steps first ('roar rerun').");
      if (!this.yes) {
        if (!isInteractive()) throw new RoarError("refusing to re-run a step with stale upstream steps without -y");
        if (!(await confirm("Run anyway?", false))) throw new RoarError("Aborted.");
      }
    }
    const next = applyOverrides(job.argv, rerun.overrides);
    this.note(`Re-running ${rerun.refText}: ${shellJoin(this.shown.argv(next))}`);
    // The step runs where it ran before, wherever `roar run @N` is typed.
    const cwd = isAbsolute(job.cwd) ? job.cwd : join(project.root, job.cwd);
    const env = this.recordedEnv ? (job.metadata.env ?? {}) : undefined;
    return { argv: next, kind: job.kind === "build" ? "build" : "run", cwd, step: job.step, recordedEnv: env };
  }

  private async traced(): Promise<number> {
    mark("start");
    const project = this.project();
    const loaded = this.loadConfig(project);
    const { config } = loaded;
    if (this.noColor) disableColor();
    // One quiet, whichever way it was asked for (-q, output.quiet, output.verbosity = quiet).
    const quiet = this.quiet || config.output.verbosity === "quiet";
    this.shown = this.presenter("text", loaded);
    const store = RoarStore.open(project, { write: true });
    mark("config+store");
    try {
      const choice = (this.tracer ?? config.tracer.default) as TracerChoice;
      if (!["auto", "hybrid", "ptrace", "preload"].includes(choice)) {
        throw new UsageError(`unknown tracer '${choice}': use auto, hybrid, ptrace or preload`);
      }
      const backend = selectBackend(choice);
      const session = store.ensureActiveSession();
      const { argv, kind, cwd, step, recordedEnv } = await this.resolveArgv(this.argv, store, session.id, project);
      const gitRoot = findGitRoot(project.root);
      const git = gitRoot ? readGitState(gitRoot) : null;
      if (!git) this.note("warning: not inside a git repository — this job is recorded without a commit");
      mark("git");
      const dirty = await this.checkDirty(git, store, project.root);
      if (git?.commit) store.setSessionCommitStart(session.id, git.commit);

      const algorithms: ExtraAlgorithm[] = normalizeAlgorithms([...config.hash.run, ...(this.hash ?? [])]);
      // nvidia-smi runs while the command does, and only once the command has really started.
      let gpu: GpuProbe | undefined;
      requireTempSpace();
      const privateDir = privateTempDir("trace");
      const eventsPath = eventsPathIn(privateDir);
      // Parallel runs of this project see this one's files as in flight, not as a dirty tree.
      const run = registerRun(store, privateDir);
      let recordedRun = false;
      let captureDir: string | null = null;
      try {
        // Before the job changes a file that existed, the tracers note it and keep its bytes (up to a cap).
        captureDir = setUpCaptures(privateDir, project.roarDir, {
          cap: config.reversible.max_file_size,
          keepAll: config.reversible.enabled,
        });
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(this.context.env)) if (v !== undefined) env[k] = v;
        // `roar rerun`: the values the step ran with (a value stored redacted comes from [env]).
        const injected: Record<string, string> = { ...config.env };
        for (const [k, v] of Object.entries(recordedEnv ?? {})) if (v !== REDACTED) injected[k] = v;
        Object.assign(env, injected);

        let interrupts = 0;
        let running: RunningTrace | undefined;
        const onSignal = (signal: NodeJS.Signals) => {
          if (signal === "SIGINT") {
            interrupts++;
            if (interrupts >= 2) {
              running?.kill("SIGKILL");
              this.note("roar: second interrupt — aborting without recording");
              store.finishRun(run.id);
              if (captureDir) removeCaptures(captureDir);
              rmSync(privateDir, { recursive: true, force: true });
              process.exit(130);
            }
          }
          // Sent to the whole process group (a terminal's Ctrl-C, `timeout`), the command has it already.
          running?.forward(signal);
        };
        const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
        for (const s of signals) process.on(s, onSignal);
        let outcome: Awaited<RunningTrace["done"]>;
        try {
          mark("prepare");
          running = backend.start({ argv, env, cwd, eventsPath });
          removeAbandonedTempDirs();
          removeAbandonedTempDirs(join(project.roarDir, "tmp"));
          running.pid.then(
            (pid) => {
              if (pid > 0) gpu = probeGpus();
            },
            () => {},
          );
          outcome = await running.done;
          mark("trace");
          for (const warning of setIdWarnings(outcome)) this.note(this.shown.text(warning));
        } catch (error) {
          gpu?.cancel();
          throw error;
        } finally {
          for (const s of signals) process.off(s, onSignal);
        }
        if (outcome.spawnError) {
          gpu?.cancel();
          rmSync(privateDir, { recursive: true, force: true });
          const what = outcome.spawnError.code === 127 ? "command not found" : "permission denied (not executable)";
          this.note(`roar: ${what}: ${this.shown.text(argv[0] ?? "")}`);
          return outcome.spawnError.code;
        }
        const postStart = performance.now();
        const progress =
          quiet || !process.stderr.isTTY
            ? undefined
            : (done: number, total: number) => {
                if (total >= 200) process.stderr.write(`\rroar: hashing ${done}/${total}`);
              };
        let recorded: Awaited<ReturnType<typeof recordJob>>;
        try {
          recorded = await recordJob({
            store,
            runId: run.id,
            captureDir,
            reversible: config.reversible.enabled,
            sessionId: session.id,
            projectRoot: project.root,
            roarDir: project.roarDir,
            kind,
            step,
            name: this.name ?? null,
            argv,
            cwd,
            outcome,
            interrupted: interrupts > 0,
            filters: {
              ignoreSystemReads: config.filters.ignore_system_reads,
              ignorePackageReads: config.filters.ignore_package_reads,
              ignoreTorchCache: config.filters.ignore_torch_cache,
              ignoreTmpFiles: config.filters.ignore_tmp_files,
              trackRepoFiles: config.output.track_repo_files,
              ignorePaths: config.filters.ignore_paths,
            },
            privatePaths: new Set([eventsPath]),
            algorithms,
            git,
            dirtyPatch: dirty.patch,
            treeClean: dirty.clean,
            injectedEnv: injected,
            secrets: secretDetector(config, this.context.env),
            gpu: (gpu ?? probeGpus()).result,
            onHashProgress: progress,
          });
        } catch (error) {
          rmSync(privateDir, { recursive: true, force: true });
          throw notRecorded(error, outcome, project.dbPath);
        }
        recordedRun = true;
        if (progress) process.stderr.write("\r\x1b[K");
        mark("record");
        rmSync(privateDir, { recursive: true, force: true });
        const postMs = performance.now() - postStart;
        try {
          store.setJobPostMs(recorded.uid, Math.round(postMs));
        } catch {
          // The job is recorded; only roar's own timing is missing.
        }
        if (this.json || this.jsonFile !== undefined) {
          // The same document as `roar show <uid> --json`.
          const stored = store.jobWithIo(recorded.uid);
          const doc = stored && jobJson(stored, store.sessionById(session.id), true);
          const text = doc ? formatJson(this.presenter("json", loaded).doc(doc)) : "";
          if (this.jsonFile !== undefined) writeFileAtomic(userPath(this.jsonFile, this.context.cwd), text);
          if (this.json) this.context.stdout.write(text);
        }
        if (!this.json && !quiet) this.note(runReport(recorded.job, recorded.uid, postMs, this.shown));
        if (!this.json && !quiet) this.warnStale(store, session.id, recorded.uid);
        if (outcome.signal !== null) return 128 + outcome.signal;
        if (interrupts > 0 && outcome.exitCode === null) return 128 + (SIGNAL_NUMBERS.SIGINT ?? 2);
        return outcome.exitCode ?? 125;
      } finally {
        // Never masks the error on its way out (a full disk): a dead run's registration is dropped later.
        if (!recordedRun) tryQuietly(() => store.finishRun(run.id));
        if (captureDir) removeCaptures(captureDir);
      }
    } finally {
      store.close();
    }
  }

  /** After recording: what this job made stale, or consumed stale. */
  private warnStale(store: RoarStore, sessionId: number, uid: string): void {
    const dag = loadSessionDag(store, sessionId);
    const { consumedStaleFrom, staleDownstream } = staleWarnings(dag, uid);
    if (consumedStaleFrom.length > 0) {
      this.note(`warning: this job consumed stale inputs from: ${stepList(dag, consumedStaleFrom)}`);
    }
    if (staleDownstream.length > 0) {
      this.note(`warning: downstream steps are stale: ${stepList(dag, staleDownstream)}`);
      this.note("'roar rerun' brings them up to date; 'roar status' says why each is stale.");
    }
  }

  /** Refuses a dirty tree (see run/dirty-tree.ts for what does not count), or with --allow-dirty returns the patch. */
  private async checkDirty(
    git: GitState | null,
    store: RoarStore,
    projectRoot: string,
  ): Promise<{ clean: boolean; patch: { blake3: string; bytes: Uint8Array } | null }> {
    if (!git) return { clean: true, patch: null };
    const blocking = await blockingChanges(git, store, projectRoot);
    if (blocking.length === 0) return { clean: true, patch: null };
    if (!this.allowDirty) {
      throw new RoarError(
        `the working tree has uncommitted changes:\n${changeLines(blocking)}`,
        125,
        "Commit them (git add -A && git commit), add generated files to .gitignore, or re-run with --allow-dirty to store the diff with the job.",
      );
    }
    const bytes = workingTreePatch(
      git.root,
      git.commit,
      blocking.map((c) => c.path),
    );
    return { clean: false, patch: bytes.length > 0 ? { blake3: await hashBytes(bytes), bytes } : null };
  }
}
