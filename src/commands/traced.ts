/**
 * Shared body of `roar run` and `roar build`: git gate, tracer, signals, recording, report, exit status
 * (docker-run style: the child's code, 128+N for signal N, 125 for roar's own failure, 126/127 from exec).
 */
import { rmSync } from "node:fs";
import { Option } from "clipanion";
import { startGitState } from "../capture/git.ts";
import { EnvironmentCapture } from "../capture/sources.ts";
import { IncrementalClassifier } from "../core/classify.ts";
import { secretDetector } from "../core/secrets.ts";
import { shellJoin } from "../core/shell-words.ts";
import { stepIdentity } from "../core/step.ts";
import type { JobKind } from "../core/types.ts";
import { close as closeHashPool, type ExtraAlgorithm, normalizeAlgorithms } from "../hash/index.ts";
import type { NativeQueue } from "../hash/native.ts";
import { removeCaptures, setUpCaptures } from "../run/captures.ts";
import { earlyIdentitiesFor } from "../run/early-identities.ts";
import { eventsPathIn, privateTempDir, registerRun, requireTempSpace } from "../run/in-flight.ts";
import { jobTree } from "../run/job-tree.ts";
import { queueChangeCheck } from "../run/record/ahead.ts";
import { type RecordedJob, recordJob } from "../run/record.ts";
import { type JobCommand, jobCommand } from "../run/rerun-argv.ts";
import { traceJob } from "../run/trace-job.ts";
import {
  exitStatus,
  filterSettings,
  jobEnvironment,
  notePostTime,
  notRecorded,
  recordedJobDocument,
  staleNotes,
} from "../run/traced-job.ts";
import type { TraceEvent } from "../schema/events.ts";
import { asRoarFailure, missingCommandError, RoarError, UsageError } from "../shared/errors.ts";
import { userPath } from "../shared/paths.ts";
import { noteRunFiles } from "../shared/run-files.ts";
import { mark } from "../shared/timing.ts";
import { storeFailure } from "../store/errors.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import { setIdWarnings } from "../trace/incomplete.ts";
import { spoolsRemoved } from "../trace/preload-files.ts";
import { selectBackend, type TracerChoice } from "../trace/select.ts";
import { formatJson } from "../ui/json.ts";
import { writeFileAtomic } from "../ui/output-file.ts";
import { FILE_DESTINATION } from "../ui/output-policy.ts";
import type { Presenter } from "../ui/present.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { runReport } from "../ui/run-report.ts";
import { ConfiguredCommand } from "./base.ts";

function tryQuietly(f: () => void): void {
  try {
    f();
  } catch {
    // see the caller
  }
}

export abstract class TracedCommand extends ConfiguredCommand {
  static override outputOptions = {
    json: "Print the recorded job as JSON on stdout (after the command's own output; see --json-file)",
    quiet: "Do not print the report",
  };
  abstract readonly kind: JobKind;

  tracer = Option.String("--tracer", { description: "Tracer backend: auto, hybrid, ptrace or preload" });
  name = Option.String("-n,--name", { description: "A name for this step" });
  hash = Option.Array("--hash", { description: "Also compute this digest (sha256, sha512, sha1, md5); repeatable" });
  allowDirty = Option.Boolean("--allow-dirty", false, {
    description: "Run with uncommitted changes; the diff against HEAD is stored with the job",
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

  /** `roar run @N`: refuses (or asks, on a TTY) when the step's upstream is stale (see run/rerun-argv.ts). */
  private async resolveCommand(store: RoarStore, sessionId: number, project: Project): Promise<JobCommand> {
    const command = await jobCommand(this.argv, store, sessionId, project, {
      kind: this.kind,
      cwd: this.context.cwd,
      add: this.add,
      recordedEnv: this.recordedEnv,
      onStaleUpstream: async (warning) => {
        for (const line of warning) this.note(line);
        if (this.yes) return;
        if (!isInteractive()) throw new RoarError("refusing to re-run a step with stale upstream steps without -y");
        if (!(await confirm("Run anyway?", false))) throw new RoarError("Aborted.");
      },
    });
    if (command.refText) this.note(`Re-running ${command.refText}: ${shellJoin(this.shown.argv(command.argv))}`);
    return command;
  }

  private async traced(): Promise<number> {
    mark("start");
    const project = this.project();
    // git status runs while the config and the store load (see startGitState).
    const gitRoot = findGitRoot(project.root);
    const gitState = gitRoot ? startGitState(gitRoot) : null;
    const loaded = this.loadConfig(project);
    const { config } = loaded;
    const output = this.outputPolicy;
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
      const command = await this.resolveCommand(store, session.id, project);
      const { argv, cwd } = command;

      const algorithms: ExtraAlgorithm[] = normalizeAlgorithms([...config.hash.run, ...(this.hash ?? [])]);
      const environment = new EnvironmentCapture();
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
        const { env, injected } = jobEnvironment(this.context.env, config.env, command.recordedEnv);
        const filters = filterSettings(config);
        // The files the job reads are identified while it runs, where the hash cache vouches for them.
        const early = earlyIdentitiesFor({
          cache: store.hashCache(),
          artifacts: store,
          priorArtifacts: () => store.priorInputDigests(session.id, stepIdentity(command.kind, argv)),
          algorithms,
          filters,
          scope: { projectRoot: project.root, roarDir: project.roarDir, privatePaths: new Set([eventsPath]) },
        });
        // ... and the trace's file events classified as they arrive, where they come in order.
        const classifier = new IncrementalClassifier();
        mark("prepare");
        // git status (started at roar's start) is awaited last before the job, the work above done meanwhile: in a
        // big repository it is what roar waits for. A dirty tree refuses the run here (its temporary directory
        // removed; the finally blocks below undo the run's registration and capture directory).
        const git = gitState ? await gitState : null;
        if (!git) this.note("warning: not inside a git repository — this job is recorded without a commit");
        let tree: Awaited<ReturnType<typeof jobTree>>;
        try {
          tree = await jobTree(git, store, project.root, this.allowDirty);
        } catch (error) {
          rmSync(privateDir, { recursive: true, force: true });
          throw error;
        }
        if (git?.commit) store.setSessionCommitStart(session.id, git.commit);
        mark("git");
        const observe = (events: readonly TraceEvent[], from: number) => {
          classifier.add(events, from);
          early.observe(events, from, classifier.factsOf);
        };
        // The inputs identified while it ran are checked for changes from the moment it ends (record/ahead.ts);
        // recordJob takes the queue over (and closes it).
        const atEnd: { queue: NativeQueue | null } = { queue: null };
        const ended = () => {
          atEnd.queue = queueChangeCheck(early);
        };
        const { outcome, interrupted } = await traceJob(
          backend,
          { argv, env, cwd, eventsPath, observe, ended },
          {
            roarDir: project.roarDir,
            environment,
            onAbort: () => {
              this.note("roar: second interrupt — aborting without recording");
              store.finishRun(run.id);
              if (captureDir) removeCaptures(captureDir);
              rmSync(privateDir, { recursive: true, force: true });
              process.exit(130);
            },
          },
        );
        for (const warning of setIdWarnings(outcome)) this.note(this.shown.text(warning));
        if (outcome.spawnError) {
          atEnd.queue?.close();
          environment.cancel();
          rmSync(privateDir, { recursive: true, force: true });
          const what = outcome.spawnError.code === 127 ? "command not found" : "permission denied (not executable)";
          this.note(`roar: ${what}: ${this.shown.text(argv[0] ?? "")}`);
          return outcome.spawnError.code;
        }
        const postStart = performance.now();
        const progress = output.showsProgress
          ? (done: number, total: number) => {
              if (total >= 200) output.stderr.write(`\rroar: hashing ${done}/${total}`);
            }
          : undefined;
        let recorded: RecordedJob;
        try {
          recorded = await recordJob({
            store,
            job: {
              sessionId: session.id,
              kind: command.kind,
              step: command.step,
              name: this.name ?? null,
              argv,
              cwd,
              interrupted,
            },
            project: { root: project.root, roarDir: project.roarDir },
            trace: {
              outcome,
              captureDir,
              privatePaths: new Set([eventsPath]),
              runId: run.id,
              early,
              classifier,
              queue: atEnd.queue,
            },
            settings: { filters, algorithms, reversible: config.reversible.enabled },
            tree,
            environment,
            injectedEnv: injected,
            secrets: secretDetector(config, this.context.env),
            onHashProgress: progress,
          });
        } catch (error) {
          atEnd.queue?.close(); // closed already when recordJob got to take it over
          rmSync(privateDir, { recursive: true, force: true });
          throw notRecorded(error, outcome, project.dbPath);
        }
        recordedRun = true;
        noteRunFiles(process.argv.slice(2), process.cwd(), recorded.job.inputs.length + recorded.job.outputs.length);
        if (progress) output.stderr.write("\r\x1b[K");
        mark("record");
        await spoolsRemoved(); // unlinked meanwhile (trace/preload-files.ts)
        rmSync(privateDir, { recursive: true, force: true });
        const postMs = performance.now() - postStart;
        notePostTime(store, recorded.uid, postMs);
        if (this.json || this.jsonFile !== undefined) {
          // The same document as `roar show <uid> --json`.
          const doc = recordedJobDocument(store, recorded.uid, session.id);
          const shown = doc ? this.presenter("json", loaded).doc(doc) : undefined;
          // Laid out for each destination: a file is never a terminal.
          const text = (to: { isTTY?: boolean }) => (shown ? formatJson(shown, output.prettyJson(to)) : "");
          if (this.jsonFile !== undefined)
            writeFileAtomic(userPath(this.jsonFile, this.context.cwd), text(FILE_DESTINATION));
          if (this.json) output.stdout.write(text(output.stdout));
        }
        if (!this.json && !output.quiet) {
          this.note(runReport(recorded.job, recorded.uid, postMs, this.shown, output.stderrStyle));
          for (const line of staleNotes(store, session.id, recorded.uid)) this.note(line);
        }
        return exitStatus(outcome, interrupted);
      } finally {
        // Never masks the error on its way out (a full disk): a dead run's registration is dropped later.
        if (!recordedRun) tryQuietly(() => store.finishRun(run.id));
        if (captureDir) removeCaptures(captureDir);
      }
    } finally {
      store.close();
      mark("store closed");
    }
  }
}
