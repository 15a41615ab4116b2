/**
 * Record steps 1-2, classify and filter: which files of the trace are the job's inputs and outputs (with their
 * flags), and which are left out and why (system files, packages, the repository's code, roar's own files).
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { committedAmong, type GitState } from "../../capture/git.ts";
import { type Classification, type PathFacts, writtenByKilledProcess } from "../../core/classify.ts";
import {
  codeCandidate,
  type FilterContext,
  type FilterSettings,
  ignoreReason,
  readReasonInContext,
} from "../../core/filters.ts";
import { IoFlags } from "../../core/io-flags.ts";
import { storedPath } from "../../core/project-paths.ts";
import type { IoRecord } from "../../core/types.ts";
import { identitiesOf } from "../../hash/file.ts";
import type { FileDigest, FileIdentity } from "../../hash/index.ts";
import type { OpenStat } from "../../schema/events.ts";
import { fsPath } from "../../shared/paths.ts";
import type { RoarStore } from "../../store/store.ts";
import type { EarlyIdentity, FirstOpen } from "../early-identities.ts";

export interface TracedInput {
  path: string;
  flags: number;
  /** The file's stat when the job opened it, as the tracer saw it. */
  stat: OpenStat | null;
  /**
   * Its digest when it was identified while the job ran (vouched for by the cache or hashed as opened, see
   * run/early-identities.ts): no hash needed after the job. A field, not a map by path: tens of thousands a job.
   */
  early: FileDigest | undefined;
  /** Its path as the store keeps it, when made already (EarlyIdentity.stored); else made by the hash step. */
  stored: string | null;
  /** Its record, when made already (EarlyIdentity.record): the hash step takes it while its flags are these. */
  record: IoRecord | null;
}

export interface TracedOutput {
  path: string;
  flags: number;
  /** A symbolic link the job made: identified by its target text. */
  link: boolean;
}

export interface SelectedFiles {
  inputs: TracedInput[];
  outputs: TracedOutput[];
  skipped: { path: string; reason: string }[];
  /** The files as they are now (null: gone or unreadable), each stat taken once; spares the hashing its own. */
  statted: Map<string, FileIdentity | null>;
  /**
   * Inputs the job only read that the hash cache was asked about as they were opened, and does not vouch for:
   * with their stat at the open. Neither statted here nor looked up again: they are hashed, and whether they
   * changed during the run is told by the identity the hashing saw (see run/record/hash.ts).
   */
  deferred: Map<string, OpenStat>;
  /**
   * The inputs identified while the job ran (vouched for): still to be checked for a change since their open,
   * which only adds IoFlags.CHANGED_DURING_RUN to their records. Asked for at the end of the record step
   * (changedDuringRun): the check queued when the command ended runs meanwhile, beside the filtering and hashing.
   */
  identified: IdentifiedInputs;
}

/** Inputs identified while the job ran, by their place in SelectedFiles.inputs. */
export interface IdentifiedInputs {
  paths: string[];
  found: EarlyIdentity[];
  /** For each, its index in SelectedFiles.inputs. */
  inputAt: Int32Array;
}

export interface FilterScope {
  projectRoot: string;
  roarDir: string;
  /** Files roar itself created for this run (the event stream). */
  privatePaths: ReadonlySet<string>;
  /** The tree the job ran on (null outside git), and whether a diff of it was stored (--allow-dirty). */
  git: GitState | null;
  withDiff: boolean;
}

/**
 * What the filters know before the job has run: its project and roar's own files. A path they drop then, they
 * drop after the job too (what the job executed and the commit only add reasons).
 */
export function scopeContext(scope: Pick<FilterScope, "projectRoot" | "roarDir" | "privatePaths">): FilterContext {
  return {
    projectRoot: scope.projectRoot,
    roarDir: scope.roarDir,
    tmpDirs: [...new Set(["/tmp", "/var/tmp", process.env.TMPDIR ?? "/tmp"].map((d) => resolve(d)))],
    privatePaths: scope.privatePaths,
  };
}

/** What the filters need to know about this job and project (see core/filters.ts). */
export function filterContext(
  classification: Classification,
  scope: FilterScope,
  store: Pick<RoarStore, "recordedOutputsAmong">,
): FilterContext {
  const { projectRoot } = scope;
  const ctx: FilterContext = {
    ...scopeContext(scope),
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
  const readCode: string[] = [];
  const list = classification.files.list;
  for (let i = 0; i < list.length; i++) {
    const f = list[i] as PathFacts;
    if (f.read && !f.written && !f.deleted && codeCandidate(f.path, ctx)) readCode.push(f.path);
  }
  const writtenByJobs = store.recordedOutputsAmong(readCode.map((p) => storedPath(p, projectRoot)));
  const candidates = readCode.filter((p) => !writtenByJobs.has(storedPath(p, projectRoot)));
  if (scope.git && candidates.length > 0) ctx.committed = committedAmong(scope.git, candidates, scope.withDiff);
  return ctx;
}

/** "Changed during the run": the file now (null: gone) differs from what the tracer saw when it was opened. */
function changedSinceOpen(stat: { size: number; mtimeNs: number } | null, now: FileIdentity | null): boolean {
  if (!stat) return false;
  return now === null || Number(now.size) !== stat.size || Number(now.mtimeNs) !== stat.mtimeNs;
}

/** Every file of the trace as an input, an output, both, or skipped with the filter's reason. */
export function selectFiles(
  classification: Classification,
  filters: FilterSettings,
  filterCtx: FilterContext,
  /**
   * What was learned while the job ran (see run/early-identities.ts): which inputs the hash cache vouches for as
   * the tracer saw them opened, and which paths the filters' path rules keep.
   */
  whileRunning?: {
    vouched(
      files: readonly { path: string; openStat: OpenStat | null }[],
      opens?: readonly (FirstOpen | undefined)[],
    ): readonly (EarlyIdentity | undefined)[];
    firstOpenOf(f: PathFacts): FirstOpen | undefined;
    keptByPathRules(open: FirstOpen | undefined): boolean;
  },
): SelectedFiles {
  const processById = new Map(classification.processes.map((p) => [p.pid, p]));
  const selected: SelectedFiles = {
    inputs: [],
    outputs: [],
    skipped: [],
    statted: new Map(),
    deferred: new Map(),
    identified: { paths: [], found: [], inputAt: new Int32Array(0) },
  };
  const { inputs, outputs, skipped, statted, deferred } = selected;
  const files = classification.files.list;
  // What is learnt of each file is kept by its index here, not in maps by path: each map operation costs, and a
  // job has tens of thousands of files (this code runs once a job, in the JIT's lowest tiers).
  const readReasons = new Array<string | null>(files.length);
  /** Identified while the job ran: what was found. */
  const earlyAt = new Array<EarlyIdentity | undefined>(files.length);
  /** Looked up while the job ran and not vouched for: hashed after the job with no stat of its own. */
  const deferredAt = new Array<boolean>(files.length).fill(false);
  // One pass: each read's filter reason, and the inputs the job only read (the ones an open can identify).
  // (The facts themselves, not an object made a file: tens of thousands of them. The lists of these loops are
  // sized for every file and cut to length after: a store by index costs a third of a push in these tiers.)
  const onlyRead = new Array<PathFacts>(files.length);
  const onlyReadAt = new Int32Array(files.length);
  /** Each one's first open as seen while the job ran: looked up once here, for the reason and for vouched. */
  const onlyReadOpens = new Array<FirstOpen | undefined>(files.length);
  let onlyReadCount = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as PathFacts;
    if (!f.read) {
      readReasons[i] = null;
      continue;
    }
    const open = whileRunning?.firstOpenOf(f);
    // A path the path rules kept while the job ran is only asked what this job's context adds (and whether it is
    // in the project is told by its stored path, when it was identified then: relative exactly when it is).
    const stored = open?.found?.stored;
    const reason = whileRunning?.keptByPathRules(open)
      ? stored != null
        ? readReasonInContext(f.path, filters, filterCtx, stored !== f.path)
        : readReasonInContext(f.path, filters, filterCtx)
      : ignoreReason(f.path, "read", filters, filterCtx);
    readReasons[i] = reason;
    if (reason === null && f.openStat && !f.written && !f.maybeWritten && !f.deleted) {
      onlyRead[onlyReadCount] = f;
      onlyReadAt[onlyReadCount] = i;
      onlyReadOpens[onlyReadCount] = open;
      onlyReadCount++;
    }
  }
  onlyRead.length = onlyReadCount;
  onlyReadOpens.length = onlyReadCount;
  // Those the cache vouches for as they were opened are identified: no stat nor hash. The rest are deferred.
  const vouched = whileRunning?.vouched(onlyRead, onlyReadOpens);
  const vouchedPaths = new Array<string>(onlyReadCount);
  const vouchedFound = new Array<EarlyIdentity>(onlyReadCount);
  let vouchedCount = 0;
  if (vouched)
    for (let k = 0; k < onlyReadCount; k++) {
      const f = onlyRead[k] as PathFacts;
      const i = onlyReadAt[k] as number;
      const found = vouched[k];
      if (found) {
        earlyAt[i] = found;
        vouchedPaths[vouchedCount] = f.path;
        vouchedFound[vouchedCount] = found;
        vouchedCount++;
      } else {
        deferredAt[i] = true;
        deferred.set(f.path, f.openStat as OpenStat);
      }
    }
  vouchedPaths.length = vouchedCount;
  vouchedFound.length = vouchedCount;
  // Still to be checked for a change since the open (by something outside the job): not to identify them (that
  // is done), to say so (IoFlags.CHANGED_DURING_RUN). Left to the end of the record step (see `identified`).
  const identifiedInputAt = new Int32Array(vouchedCount);
  selected.identified = { paths: vouchedPaths, found: vouchedFound, inputAt: identifiedInputAt };
  let identifiedCount = 0;
  // The files whose state now decides how they count (maybe written; a kept input that may have changed) are
  // statted in one batch: one stat per path, which the hashing then reuses.
  // (Plain loops here and below: this code runs once a job, over every file, mostly before the JIT compiles it,
  // where a callback a file costs more than the work in it.)
  const toStat: string[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as PathFacts;
    if (
      f.openStat !== null &&
      (f.maybeWritten || (f.read && readReasons[i] === null)) &&
      earlyAt[i] === undefined &&
      !deferredAt[i]
    )
      toStat.push(f.path);
  }
  const identities = identitiesOf(toStat);
  for (let i = 0; i < toStat.length; i++) statted.set(toStat[i] as string, identities[i] ?? null);
  const now = (path: string) => statted.get(path) ?? null;
  let inputCount = 0;
  inputs.length = files.length;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as PathFacts;
    let written = f.written;
    if (!written && f.maybeWritten) written = f.openStat === null || changedSinceOpen(f.openStat, now(f.path));
    if (f.read) {
      const reason = readReasons[i];
      if (reason) skipped.push({ path: f.path, reason });
      else {
        let flags = written ? IoFlags.READ_WRITE : 0;
        const found = earlyAt[i];
        // An identified input's change is told at the end of the record step, a deferred one's after its hashing.
        if (found !== undefined) identifiedInputAt[identifiedCount++] = inputCount;
        else if (!written && !deferredAt[i] && changedSinceOpen(f.openStat, now(f.path)))
          flags |= IoFlags.CHANGED_DURING_RUN;
        // One shape for all, identified or not.
        inputs[inputCount++] =
          found !== undefined
            ? { path: f.path, flags, stat: f.openStat, early: found.digest, stored: found.stored, record: found.record }
            : { path: f.path, flags, stat: f.openStat, early: undefined, stored: null, record: null };
      }
    }
    if (written || f.deleted) {
      const reason = ignoreReason(f.path, "write", filters, filterCtx);
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
  inputs.length = inputCount;
  return selected;
}
