/**
 * One `roar run` / `roar build`, after the command finished: classify the trace, filter, hash, capture the
 * environment, and record the job in one transaction.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { debianPackages } from "../capture/dpkg.ts";
import { committedAmong, type GitState } from "../capture/git.ts";
import { packageReadPaths, pythonInterpreter, usedPythonPackages } from "../capture/python.ts";
import { baseRuntime, type RuntimeInfo } from "../capture/runtime.ts";
import { type Classification, classifyEvents, orderEvents, writtenByKilledProcess } from "../core/classify.ts";
import {
  codeCandidate,
  type FilterContext,
  type FilterSettings,
  ignoreReason,
  isRepositoryCode,
} from "../core/filters.ts";
import { IoFlags } from "../core/io-flags.ts";
import { isInside, storedPath } from "../core/project-paths.ts";
import type { SecretDetector } from "../core/secrets.ts";
import { stepIdentity } from "../core/step.ts";
import type { IoRecord, JobKind, JobStatus, NewJob } from "../core/types.ts";
import { identityOf } from "../hash/file.ts";
import { type ExtraAlgorithm, type FileHashResult, type FileIdentity, hashFiles, isHashError } from "../hash/index.ts";
import type { OpenStat } from "../schema/events.ts";
import { fsPath } from "../shared/paths.ts";
import { mark } from "../shared/timing.ts";
import type { SqliteHashCache } from "../store/hash-cache.ts";
import type { RoarStore } from "../store/store.ts";
import type { TraceOutcome } from "../trace/types.ts";
import { cachedDigestAt, isSymlinkMode, keepPrior, priorContents } from "./captures.ts";
import { keepSmallStructured } from "./keep-small.ts";
import { type LinkDigest, linkDigest } from "./links.ts";

export interface RecordInput {
  store: RoarStore;
  /** The run's pre-write capture directory (see run/captures.ts), when set up. */
  captureDir?: string | null;
  /** reversible.enabled: keep what changed files held before the job in .roar/objects (for roar pop). */
  reversible?: boolean;
  /** This run's in-flight registration, removed in the job's transaction. */
  runId?: string;
  sessionId: number;
  projectRoot: string;
  roarDir: string;
  kind: JobKind;
  /** The step this job re-runs (`roar run @N`): it stays that step whatever its argv became or its outcome. */
  step?: number;
  name: string | null;
  argv: string[];
  cwd: string;
  outcome: TraceOutcome;
  interrupted: boolean;
  filters: FilterSettings;
  privatePaths: Set<string>;
  algorithms: ExtraAlgorithm[];
  git: GitState | null;
  dirtyPatch: { blake3: string; bytes: Uint8Array } | null;
  /** False when the job ran on uncommitted changes (--allow-dirty), even if they made no patch. */
  treeClean: boolean;
  injectedEnv: Record<string, string>;
  /** Decides which [env] values are stored as `<redacted>`. */
  secrets: SecretDetector;
  gpu: Promise<Pick<RuntimeInfo, "gpu" | "cuda">>;
  onHashProgress?: (done: number, total: number) => void;
}

export interface RecordedJob {
  uid: string;
  step: number;
  job: NewJob;
  skipped: { path: string; reason: string }[];
  classification: Classification;
}

/**
 * The file as it is now (null: gone or unreadable), taken once per path: it says whether the file changed since
 * the tracer saw it opened, and spares the hashing its own stat.
 */
function statNow(path: string, seen: Map<string, FileIdentity | null>): FileIdentity | null {
  let now = seen.get(path);
  if (now === undefined) {
    try {
      const st = statSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
      now = st?.isFile() ? identityOf(st) : null;
    } catch {
      now = null;
    }
    seen.set(path, now);
  }
  return now;
}

/** "Changed during the run": the file now differs from what the tracer saw when it was opened. */
function changedSinceOpen(
  path: string,
  stat: { size: number; mtimeNs: number } | null,
  seen: Map<string, FileIdentity | null>,
): boolean {
  if (!stat) return false;
  const now = statNow(path, seen);
  return now === null || Number(now.size) !== stat.size || Number(now.mtimeNs) !== stat.mtimeNs;
}

/** The digest of a file as it was at `stat` (see recordJob), from the hash cache or earlier records. */
function contentAtOpen(store: RoarStore, cache: SqliteHashCache, stat: OpenStat, storedPath: string): IoRecord | null {
  const cached = cachedDigestAt(cache, stat);
  if (cached) return { path: storedPath, blake3: cached, size: stat.size, flags: 0 };
  const recorded = store.lastOutputDigest(storedPath, stat.size);
  return recorded ? { path: storedPath, blake3: recorded, size: stat.size, flags: 0 } : null;
}

export async function recordJob(input: RecordInput): Promise<RecordedJob> {
  const { outcome, projectRoot } = input;
  const classification = classifyEvents(outcome.events);
  const filterCtx: FilterContext = {
    projectRoot,
    roarDir: input.roarDir,
    tmpDirs: [...new Set(["/tmp", "/var/tmp", process.env.TMPDIR ?? "/tmp"].map((d) => resolve(d)))],
    privatePaths: input.privatePaths,
    executables: classification.executables,
    isExecutableFile: (path) => {
      try {
        return (statSync(fsPath(path)).mode & 0o111) !== 0;
      } catch {
        return false;
      }
    },
  };
  // Code files the commit (and the job's stored diff) represents, written by no recorded job (this one
  // included) — everything else a job reads is data, whatever its extension.
  const readCode = [...classification.files.values()]
    .filter((f) => f.read && !f.written && !f.deleted && codeCandidate(f.path, filterCtx))
    .map((f) => f.path);
  const writtenByJobs = input.store.recordedOutputsAmong(readCode.map((p) => storedPath(p, projectRoot)));
  const candidates = readCode.filter((p) => !writtenByJobs.has(storedPath(p, projectRoot)));
  if (input.git && candidates.length > 0)
    filterCtx.committed = committedAmong(input.git, candidates, input.dirtyPatch !== null);
  const processById = new Map(classification.processes.map((p) => [p.pid, p]));
  const skipped: { path: string; reason: string }[] = [];
  const inputs: { path: string; flags: number; stat: OpenStat | null }[] = [];
  const outputs: { path: string; flags: number; link: boolean }[] = [];
  const facts = classification.files;
  const statted = new Map<string, FileIdentity | null>();
  for (const f of classification.files.values()) {
    let written = f.written;
    if (!written && f.maybeWritten) written = f.openStat === null || changedSinceOpen(f.path, f.openStat, statted);
    if (f.read) {
      const reason = ignoreReason(f.path, "read", input.filters, filterCtx);
      if (reason) skipped.push({ path: f.path, reason });
      else {
        let flags = written ? IoFlags.READ_WRITE : 0;
        if (!written && changedSinceOpen(f.path, f.openStat, statted)) flags |= IoFlags.CHANGED_DURING_RUN;
        inputs.push({ path: f.path, flags, stat: f.openStat });
      }
    }
    if (written || f.deleted) {
      const reason = ignoreReason(f.path, "write", input.filters, filterCtx);
      if (reason) {
        if (!f.read) skipped.push({ path: f.path, reason });
      } else
        outputs.push({
          path: f.path,
          flags:
            (f.deleted && !written ? IoFlags.DELETED : 0) |
            (f.read ? IoFlags.READ_WRITE : 0) |
            (f.created && written ? IoFlags.CREATED : IoFlags.EXISTED) |
            (written && writtenByKilledProcess(f, processById) ? IoFlags.WRITER_KILLED : 0),
          link: f.symlink && written,
        });
    }
  }

  const cache = input.store.hashCache();
  // What files the job changed held before it: captured by the tracers before the first change. Looked up
  // before hashing below, which replaces the cache entries of rewritten files.
  mark("record: classify");
  const priors = await priorContents(
    [...facts.values()].filter((f) => f.before),
    input.captureDir ?? null,
    cache,
  );
  // An input the job edited in place, or that changed or vanished during the run, must be identified by the
  // content the job read, not by what is there now: its pre-write capture, else the hash cache entry that
  // matches the stat seen at open, else the last recorded output at that path of that size. One that none of
  // them knows is left out, and the trace marked incomplete.
  const readContent = new Map<string, IoRecord>();
  const unknownInputs: string[] = [];
  for (const i of inputs) {
    const stale = (i.flags & (IoFlags.READ_WRITE | IoFlags.CHANGED_DURING_RUN)) !== 0;
    if (!stale) continue;
    const stored = storedPath(i.path, projectRoot);
    const prior = priors.get(i.path);
    const known: IoRecord | null =
      prior?.blake3 && !isSymlinkMode(prior.mode)
        ? { path: stored, blake3: prior.blake3, size: prior.size, flags: i.flags }
        : i.stat
          ? contentAtOpen(input.store, cache, i.stat, stored)
          : null;
    if (known) readContent.set(i.path, { ...known, flags: i.flags });
    else if ((i.flags & IoFlags.READ_WRITE) !== 0) unknownInputs.push(stored);
  }

  // Links the job made are identified by their target text (see run/links.ts).
  const links = new Map<string, LinkDigest>();
  for (const o of outputs) {
    const link = o.link ? await linkDigest(o.path) : null;
    if (link) links.set(o.path, link);
  }
  // Hash every input and output that still exists, once.
  const toHash = new Set<string>();
  for (const i of inputs)
    if (!readContent.has(i.path) && (i.flags & IoFlags.CHANGED_DURING_RUN) === 0) toHash.add(i.path);
  for (const o of outputs) if ((o.flags & IoFlags.DELETED) === 0 && !links.has(o.path)) toHash.add(o.path);
  const hashing = { files: toHash.size, cacheHits: 0, bytesHashed: 0 };
  mark("record: priors");
  const known = new Map<string, FileIdentity>();
  for (const path of toHash) {
    const now = statted.get(path);
    if (now) known.set(path, now);
  }
  const hashed: Map<string, FileHashResult> = await hashFiles(toHash, {
    algorithms: input.algorithms,
    cache,
    known,
    onProgress: (p) => {
      hashing.cacheHits = p.cacheHits;
      hashing.bytesHashed = p.bytesHashed;
      input.onHashProgress?.(p.filesDone, p.filesTotal);
    },
  });

  const ioRecord = (path: string, flags: number): IoRecord | null => {
    const h = hashed.get(path);
    // Exact bytes: the store keeps a name that is not valid UTF-8 as a BLOB (see store/paths.ts).
    const stored = storedPath(path, projectRoot);
    if ((flags & IoFlags.DELETED) !== 0) return { path: stored, blake3: null, size: null, flags };
    if (!h || isHashError(h)) {
      // Vanished after the job (or not a regular file): an output that is gone was deleted by the job.
      if (h && h.code === "ENOENT") return { path: stored, blake3: null, size: null, flags: flags | IoFlags.DELETED };
      return null;
    }
    return { path: stored, blake3: h.blake3, size: h.size, flags, digests: { ...h.digests } as Record<string, string> };
  };
  const inputRecords = inputs
    .map((i) => {
      const atOpen = readContent.get(i.path);
      if (atOpen) return atOpen;
      // Changed during the run and its earlier content is unknown: leave it out rather than record it wrong.
      if ((i.flags & IoFlags.CHANGED_DURING_RUN) !== 0 || (i.flags & IoFlags.READ_WRITE) !== 0) return null;
      return ioRecord(i.path, i.flags);
    })
    .filter((x): x is IoRecord => x !== null && x.blake3 !== null);
  const outputRecords: IoRecord[] = [];
  for (const o of outputs) {
    const link = links.get(o.path);
    const record: IoRecord | null = link
      ? {
          path: storedPath(o.path, projectRoot),
          blake3: link.blake3,
          size: link.size,
          flags: o.flags | IoFlags.SYMLINK,
          linkTarget: link.target,
        }
      : ioRecord(o.path, o.flags);
    if (!record) continue;
    const prior = priors.get(o.path);
    if ((record.flags & IoFlags.EXISTED) !== 0 && prior) {
      record.prevBlake3 = prior.blake3;
      record.prevMode = prior.mode;
      if (input.reversible && keepPrior(input.roarDir, prior)) record.flags |= IoFlags.PREV_KEPT;
    }
    outputRecords.push(record);
  }
  const incomplete = [
    ...outcome.incomplete,
    ...unknownInputs.map((path) => ({
      reason: "input_not_captured",
      detail: `${path}: read, then rewritten by the job before roar could identify its content (larger than the capture limit, or not capturable)`,
      pid: 0,
    })),
  ];

  // Environment capture (in parallel where it spawns).
  const readPaths = [...classification.files.values()].filter((f) => f.read).map((f) => f.path);
  mark("record: hash");
  const [python, dpkg, gpu] = await Promise.all([
    pythonInterpreter(classification.executables),
    debianPackages(classification.executables, readPaths),
    input.gpu,
  ]);
  const pip = usedPythonPackages(packageReadPaths(orderEvents(outcome.events)));
  const env = input.secrets.storedEnv(input.injectedEnv);

  const status: JobStatus = input.interrupted
    ? "interrupted"
    : outcome.exitCode === 0 && outcome.signal === null && outcome.spawnError === null
      ? "ok"
      : "failed";
  const identity = stepIdentity(input.kind, input.argv);
  const git = input.git;
  const job: NewJob = {
    sessionId: input.sessionId,
    step: 0, // assigned by the store inside the job's transaction (or given: input.step)
    stepIdentity: identity,
    kind: input.kind,
    name: input.name,
    argv: input.argv,
    cwd: storedPath(input.cwd, projectRoot),
    startedAt: outcome.startedAt,
    durationMs: Math.round(outcome.durationMs),
    traceMs: Math.round(outcome.durationMs),
    postMs: null,
    exitCode: outcome.spawnError ? outcome.spawnError.code : outcome.exitCode,
    signal: outcome.signal,
    status,
    git: git
      ? {
          commit: git.commit,
          branch: git.branch,
          remoteUrl: git.remoteUrl,
          clean: input.treeClean,
          ...(input.dirtyPatch ? { patch: input.dirtyPatch.blake3 } : {}),
          // Tracked files that already differed from the commit when the job started (outputs of earlier
          // jobs, or --allow-dirty edits): for the others, the commit holds what they had before the job.
          changed: git.changes.filter((c) => c.tracked).map((c) => c.path),
        }
      : {},
    trace: {
      backend: outcome.backend,
      complete: incomplete.length === 0,
      reasons: incomplete,
      processes: classification.processes.length,
      // Each process and how it ended; the endpoints it talked to (a job that used the network is not
      // self-contained).
      processList: classification.processes.map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        exe: p.exe,
        exitCode: p.exitCode,
        signal: p.signal,
      })),
      ...(classification.network.length > 0 ? { network: classification.network } : {}),
      ...(outcome.coverage ? { coverage: outcome.coverage } : {}),
    },
    metadata: {
      packages: { pip: pip.pip, dpkg },
      python: python ? { ...python, sitePackages: pip.sitePackages } : null,
      runtime: { ...baseRuntime(), ...gpu },
      env,
      skipped: skipped.length,
      // Files of the repository it read (its scripts, modules): the commit stands for them; listed so a later
      // change to one of them in git makes the step stale (see run/freshness.ts).
      codeFiles: [
        ...new Set(
          skipped
            .filter((s) => isRepositoryCode(s.reason) && isInside(s.path, projectRoot))
            .map((s) => storedPath(s.path, projectRoot)),
        ),
      ].sort(),
      hashing,
    },
    inputs: inputRecords,
    outputs: outputRecords,
  };
  if (input.dirtyPatch) input.store.putBlob(input.dirtyPatch.blake3, input.dirtyPatch.bytes);
  mark("record: environment");
  if (!input.store.readOnly) await keepSmallStructured([...inputRecords, ...outputRecords], projectRoot, input.roarDir);
  const { step: _unassigned, ...rest } = job;
  const toInsert = input.step === undefined ? rest : { ...rest, step: input.step };
  mark("record: keep small");
  const { uid, step } = input.store.insertJob(toInsert, input.runId);
  mark("record: insert");
  job.step = step;
  return { uid, step, job, skipped, classification };
}
