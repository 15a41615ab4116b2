/**
 * One `roar run` / `roar build`, after the command finished: the record pipeline. Each step is a function of
 * its own (run/record/): classify the trace, filter its files, hash them (with what changed files held before
 * the job), capture the environment (capture/sources.ts), and store the job in one transaction.
 */

import type { JobTree } from "../capture/source.ts";
import type { EnvironmentCapture } from "../capture/sources.ts";
import {
  type Classification,
  classifyEvents,
  type IncrementalClassifier,
  orderEvents,
  type PathFacts,
} from "../core/classify.ts";
import type { FilterSettings } from "../core/filters.ts";
import { IoFlags } from "../core/io-flags.ts";
import type { SecretDetector } from "../core/secrets.ts";
import type { NewJob } from "../core/types.ts";
import type { ExtraAlgorithm } from "../hash/index.ts";
import type { NativeQueue } from "../hash/native.ts";
import { mark } from "../shared/timing.ts";
import type { RoarStore } from "../store/store.ts";
import { traceVerdict, uncapturedInput } from "../trace/incomplete.ts";
import type { TraceOutcome } from "../trace/types.ts";
import { priorContents } from "./captures.ts";
import type { EarlyIdentities } from "./early-identities.ts";
import { keepSmallStructured } from "./keep-small.ts";
import { type RecordAhead, startAhead } from "./record/ahead.ts";
import { contentAtOpen, contentsRead } from "./record/content.ts";
import { type HashedFiles, hashJobFiles } from "./record/hash.ts";
import { assembleJob, type JobRequest } from "./record/job.ts";
import { filterContext, type IdentifiedInputs, selectFiles } from "./record/select.ts";

export type { JobRequest } from "./record/job.ts";

export interface RecordInput {
  store: RoarStore;
  job: JobRequest;
  project: { root: string; roarDir: string };
  trace: {
    outcome: TraceOutcome;
    /** The run's pre-write capture directory (see run/captures.ts), when set up. */
    captureDir: string | null;
    /** Files roar itself created for this run (the event stream). */
    privatePaths: Set<string>;
    /** This run's in-flight registration, removed in the job's transaction. */
    runId?: string;
    /** Identifies inputs by what the tracer saw at their open (see run/early-identities.ts). */
    early?: Pick<
      EarlyIdentities,
      | "vouched"
      | "knownArtifacts"
      | "firstOpenOf"
      | "keptByPathRules"
      | "checkAhead"
      | "identifiedCount"
      | "checkQueued"
      | "changedSinceOpen"
    >;
    /** The native queue whose change check started when the command ended (record/ahead.ts queueChangeCheck). */
    queue?: NativeQueue | null;
    /** The trace's file events classified as they were decoded, while the job ran. */
    classifier?: Pick<IncrementalClassifier, "classify">;
  };
  settings: {
    filters: FilterSettings;
    algorithms: ExtraAlgorithm[];
    /** reversible.enabled: keep what changed files held before the job in .roar/objects (for roar pop). */
    reversible: boolean;
  };
  /** The tree the job ran on (null outside git), read before it started. */
  tree: JobTree | null;
  /** The job's environment capture, started with the job (see capture/sources.ts). */
  environment: Pick<EnvironmentCapture, "collect">;
  /** The [env] values injected into the job; `secrets` decides which are stored as `<redacted>`. */
  injectedEnv: Record<string, string>;
  secrets: SecretDetector;
  onHashProgress?: (done: number, total: number) => void;
}

export interface RecordedJob {
  uid: string;
  step: number;
  job: NewJob;
  skipped: { path: string; reason: string }[];
  classification: Classification;
}

export async function recordJob(input: RecordInput): Promise<RecordedJob> {
  const { outcome } = input.trace;
  // 1-2. Classify the trace's events; filter its files into inputs, outputs and skipped.
  const classification = input.trace.classifier?.classify(outcome.events) ?? classifyEvents(outcome.events);
  mark("record: classify: events");
  // The hashing of the files the job made starts now, beside the filtering (and the change check of the inputs,
  // unless the command's end started it already).
  const ahead = startAhead(classification, {
    early: input.trace.early,
    queue: input.trace.queue,
    hashOutputs: input.settings.algorithms.length === 0,
    filters: input.settings.filters,
    scope: { projectRoot: input.project.root, roarDir: input.project.roarDir, privatePaths: input.trace.privatePaths },
  });
  mark("record: classify: ahead started");
  try {
    return await recordClassified(input, classification, ahead);
  } finally {
    ahead?.close();
  }
}

async function recordClassified(
  input: RecordInput,
  classification: Classification,
  ahead: RecordAhead | null,
): Promise<RecordedJob> {
  const { store, project, trace, tree } = input;
  const { outcome } = trace;
  const filterCtx = filterContext(
    classification,
    {
      projectRoot: project.root,
      roarDir: project.roarDir,
      privatePaths: trace.privatePaths,
      git: tree?.git ?? null,
      withDiff: tree?.patch != null,
    },
    store,
  );
  const early = trace.early;
  mark("record: classify: filter context");
  const files = selectFiles(classification, input.settings.filters, filterCtx, early);
  mark("record: classify");

  // 3. Hash. What files the job changed held before it: captured by the tracers before the first change, and
  // looked up before hashing, which replaces the cache entries of rewritten files.
  const cache = store.hashCache();
  // One loop over the trace's files (once a job, mostly before the JIT has compiled it): the ones the job changed
  // that existed before it, and every path it read (for package detection).
  const changed: PathFacts[] = [];
  const readPaths: string[] = [];
  const list = classification.files.list;
  for (let i = 0; i < list.length; i++) {
    const f = list[i] as PathFacts;
    if (f.before) changed.push(f);
    if (f.read) readPaths.push(f.path);
  }
  const priors = await priorContents(changed, trace.captureDir, cache);
  const read = contentsRead(files.inputs, priors, { cache, store }, project.root);
  mark("record: priors");
  const hashed = await hashJobFiles(
    files,
    read,
    { priors, keepIn: input.settings.reversible ? project.roarDir : null },
    project.root,
    {
      algorithms: input.settings.algorithms,
      cache,
      onProgress: input.onHashProgress,
      contentAtOpen: (stat, stored) => contentAtOpen({ cache, store }, stat, stored),
      hashedAhead: ahead?.hashedOutputs(),
    },
  );
  mark("record: hash");

  // 4. Capture the environment (every capture source, in parallel where they spawn).
  const environment = await input.environment.collect({
    executables: classification.executables,
    readPaths,
    events: orderEvents(outcome.events),
    tree,
  });
  const job = assembleJob(
    input.job,
    {
      outcome,
      classification,
      incomplete: traceVerdict(outcome.incomplete, read.unknown.map(uncapturedInput)),
      inputs: hashed.inputs,
      outputs: hashed.outputs,
      skipped: files.skipped,
      hashing: hashed.hashing,
      environment,
      env: input.secrets.storedEnv(input.injectedEnv),
    },
    project.root,
  );
  if (tree?.patch) store.putBlob(tree.patch.blake3, tree.patch.bytes);
  mark("record: environment");

  // 5. Store: small structured files kept whole, then the job in one transaction.
  if (!store.readOnly) await keepSmallStructured([hashed.inputs, hashed.outputs], project.root, project.roarDir);
  mark("record: keep small");
  // The sets' keys (~4 ms for 20,000 inputs) while the change check queued when the command ended finishes; then
  // its answers, last. An input found changed since its open changes its record's flags: its set's key anew.
  const keys = store.ioSetKeys(hashed.inputs, hashed.outputs);
  if (markChangedDuringRun(hashed, files.identified, early) > 0) keys.input = undefined; // made anew by insertJob
  mark("record: change check");
  const { step: _unassigned, ...rest } = job;
  const toInsert = input.job.step === undefined ? rest : { ...rest, step: input.job.step };
  const { uid, step } = store.insertJob(toInsert, trace.runId, early?.knownArtifacts(), keys);
  mark("record: insert");
  job.step = step;
  return { uid, step, job, skipped: files.skipped, classification };
}

/**
 * Marks the records of the inputs identified while the job ran that changed since their open (by something
 * outside the job): they keep the content read, flagged IoFlags.CHANGED_DURING_RUN.
 */
function markChangedDuringRun(
  hashed: Pick<HashedFiles, "inputs" | "inputRecordAt">,
  identified: IdentifiedInputs,
  early: Pick<EarlyIdentities, "changedSinceOpen"> | undefined,
): number {
  if (!early || identified.paths.length === 0) return 0;
  const changed = early.changedSinceOpen(identified.paths, identified.found);
  let marked = 0;
  for (let k = 0; k < changed.length; k++) {
    if (!changed[k]) continue;
    const at = hashed.inputRecordAt[identified.inputAt[k] as number] as number;
    const record = at >= 0 ? hashed.inputs[at] : undefined;
    if (record && (record.flags & IoFlags.CHANGED_DURING_RUN) === 0) {
      record.flags |= IoFlags.CHANGED_DURING_RUN;
      marked++;
    }
  }
  return marked;
}
