/**
 * The project database behind a narrow facade: plain objects in and out, no SQL or statement escapes. Each
 * aggregate lives in its own module (sessions, jobs, job-io, artifacts, collections, runs, hash-cache); every
 * statement is prepared once, and each recorded job is one transaction, so an interrupted roar never leaves
 * half a job behind.
 */
import type {
  ArtifactRow,
  CollectionRow,
  IoRecord,
  JobRow,
  JobSummary,
  JobWithIo,
  KnownArtifacts,
  NewCollection,
  NewJobInput,
  RunInFlight,
  SessionRow,
} from "../core/types.ts";
import { RoarError } from "../shared/errors.ts";
import * as artifacts from "./artifacts.ts";
import * as collections from "./collections.ts";
import { type OpenOptions, openDatabase } from "./db.ts";
import { SqliteHashCache } from "./hash-cache.ts";
import * as io from "./job-io.ts";
import * as jobs from "./jobs.ts";
import type { Project } from "./project.ts";
import * as runs from "./runs.ts";
import * as sessions from "./sessions.ts";
import { StoreDb } from "./statements.ts";

export type { ArtifactLink, JobIo, SessionIo } from "./job-io.ts";

export class RoarStore {
  private readonly q: StoreDb;
  private cache: SqliteHashCache | undefined;

  private constructor(q: StoreDb) {
    this.q = q;
  }

  /**
   * Opens the project's store. `create` (roar init only) makes a missing or empty database; `write` refuses a
   * read-only store up front — without it a read-only store opens read-only, for commands that only read.
   */
  static open(project: Project, options: OpenOptions = {}): RoarStore {
    const { db, readOnly } = openDatabase(project.dbPath, options);
    return new RoarStore(new StoreDb(db, readOnly));
  }

  /** Opened read-only because the store cannot be written (read-only mount, permissions): queries only. */
  get readOnly(): boolean {
    return this.q.readOnly;
  }

  /** The hash cache kept in this store (lookups only on a read-only store). */
  /** One for the store's connection: its statements are prepared once, on first use. */
  hashCache(): SqliteHashCache {
    this.cache ??= new SqliteHashCache(this.q.db, { readOnly: this.q.readOnly });
    return this.cache;
  }

  close(): void {
    this.cache?.close();
    this.q.close();
  }

  /** Runs many recordings as one write transaction (bulk loads such as bench/dag.ts); each stays atomic. */
  batch(body: () => void): void {
    this.q.write(body);
  }

  // ── sessions (sessions.ts) ──────────────────────────────────────────────────────────────────────

  activeSession(): SessionRow | undefined {
    return sessions.activeSession(this.q);
  }
  /** The active session, or the standard one-line error. */
  requireActiveSession(): SessionRow {
    const session = this.activeSession();
    if (!session) throw new RoarError("No active session.", 1, "hint: 'roar reset' starts one");
    return session;
  }
  sessions(): SessionRow[] {
    return sessions.sessions(this.q);
  }
  sessionById(id: number): SessionRow | undefined {
    return sessions.sessionById(this.q, id);
  }
  sessionsByUidPrefix(prefix: string): SessionRow[] {
    return sessions.sessionsByUidPrefix(this.q, prefix);
  }
  startSession(gitRepo: string | null = null): SessionRow {
    return sessions.startSession(this.q, gitRepo);
  }
  ensureActiveSession(gitRepo: string | null = null): SessionRow {
    return sessions.ensureActiveSession(this.q, gitRepo);
  }
  setSessionCommitStart(sessionId: number, commit: string): void {
    sessions.setSessionCommitStart(this.q, sessionId, commit);
  }

  // ── recording (jobs.ts, collections.ts, runs.ts) ────────────────────────────────────────────────

  insertJob(
    job: NewJobInput,
    finishesRun?: string,
    known?: KnownArtifacts,
    keys?: jobs.IoSetKeys,
  ): { uid: string; step: number } {
    return jobs.insertJob(this.q, job, finishesRun, known, keys);
  }
  /** The keys insertJob names the sets of these records by: made ahead of it where that overlaps other work. */
  ioSetKeys(inputs: readonly IoRecord[], outputs: readonly IoRecord[]): jobs.IoSetKeys {
    return jobs.ioSetKeys(inputs, outputs);
  }
  /** The artifacts the same step's last input set names (see jobs.ts priorInputDigests). */
  priorInputDigests(sessionId: number, stepIdentity: string): { version: number; digests: Set<string> } | null {
    return jobs.priorInputDigests(this.q, sessionId, stepIdentity);
  }
  /** Which of `digests` are recorded artifacts now (see KnownArtifacts). */
  knownArtifacts(digests: readonly string[]): { version: number; present: string[] } {
    return artifacts.knownArtifacts(this.q, digests);
  }
  /** A get/put job and the directories it transferred (as collections), in one transaction. */
  insertTransferJob(job: NewJobInput, moved: readonly NewCollection[]): { uid: string; step: number } {
    let recorded = { uid: "", step: 0 };
    this.q.write(() => {
      recorded = jobs.insertJob(this.q, job); // nested: a savepoint inside this transaction
      collections.insertCollections(this.q, recorded.uid, moved);
    });
    return recorded;
  }
  setJobPostMs(uid: string, postMs: number): void {
    jobs.setJobPostMs(this.q, uid, postMs);
  }
  deleteJob(uid: string): void {
    jobs.deleteJob(this.q, uid);
  }
  registerRun(run: RunInFlight, isDead: (run: RunInFlight) => boolean): void {
    runs.registerRun(this.q, run, isDead);
  }
  finishRun(id: string): void {
    runs.finishRun(this.q, id);
  }
  runsInFlight(): RunInFlight[] {
    return runs.runsInFlight(this.q);
  }
  putBlob(blake3: string, bytes: Uint8Array): void {
    artifacts.putBlob(this.q, blake3, bytes);
  }

  // ── jobs (jobs.ts) ──────────────────────────────────────────────────────────────────────────────

  job(uid: string): JobRow | undefined {
    return jobs.job(this.q, uid);
  }
  jobsByUidPrefix(prefix: string): JobRow[] {
    return jobs.jobsByUidPrefix(this.q, prefix);
  }
  jobWithIo(uid: string): JobWithIo | undefined {
    const job = this.job(uid);
    if (!job) return undefined;
    const { inputs, outputs } = this.jobIo(uid);
    const digests = artifacts.digestsFor(
      this.q,
      [...inputs, ...outputs].map((x) => x.blake3).filter((x) => x !== null),
    );
    for (const x of [...inputs, ...outputs]) if (x.blake3) x.digests = digests.get(x.blake3) ?? {};
    return { ...job, inputs, outputs };
  }
  sessionJobSummaries(sessionId: number): JobSummary[] {
    return jobs.sessionJobSummaries(this.q, sessionId);
  }
  sessionJobUids(sessionId: number, kind: JobRow["kind"]): string[] {
    return jobs.sessionJobUids(this.q, sessionId, kind);
  }
  latestJobOfStep(sessionId: number, step: number, kind?: JobRow["kind"]): JobRow | undefined {
    return jobs.latestJobOfStep(this.q, sessionId, step, kind);
  }
  latestSessionJob(sessionId: number): JobRow | undefined {
    return jobs.latestSessionJob(this.q, sessionId);
  }
  sessionJobCounts(): Map<number, number> {
    return jobs.sessionJobCounts(this.q);
  }
  sessionCodeFiles(sessionId: number): Map<string, { commit: string | null; files: string[] }> {
    return jobs.sessionCodeFiles(this.q, sessionId);
  }

  // ── inputs and outputs (job-io.ts) ──────────────────────────────────────────────────────────────

  jobIo(uid: string): io.JobIo {
    return io.jobIo(this.q, uid, (b) => this.blob(b));
  }
  sessionIo(sessionId: number): Map<string, io.JobIo> {
    return io.sessionIo(this.q, sessionId, (b) => this.blob(b));
  }
  sessionIoUnordered(sessionId: number, inputsOf?: ReadonlySet<string>): io.SessionIo {
    return io.sessionIoUnordered(this.q, sessionId, inputsOf);
  }
  artifactLinks(blake3: string): { job: JobRow; role: "input" | "output"; path: string }[] {
    return io.artifactLinks(this.q, blake3);
  }
  linksAtPath(path: string): (io.ArtifactLink & { blake3: string | null })[] {
    return io.linksAtPath(this.q, path);
  }
  /** Links at many paths in one pass (see job-io.ts: inputs are not indexed by path). */
  linksAtPaths(paths: readonly string[]): Map<string, (io.ArtifactLink & { blake3: string | null })[]> {
    return io.linksAtPaths(this.q, paths);
  }
  /** `role`: only producers ("output", indexed) or only consumers ("input"). */
  linksOfArtifacts(
    blake3s: readonly string[],
    role?: "input" | "output",
  ): Map<string, (io.ArtifactLink & { path: string })[]> {
    return io.linksOfArtifacts(this.q, blake3s, role);
  }
  producerUids(blake3: string, options: { replayable: boolean }): string[] {
    return io.producerUids(this.q, blake3, options.replayable);
  }
  recordedOutputsAmong(paths: readonly string[]): Set<string> {
    return io.recordedOutputsAmong(this.q, paths);
  }
  isRecordedOutput(blake3: string): boolean {
    return io.isRecordedOutput(this.q, blake3);
  }
  lastOutputDigest(path: string, size: number): string | undefined {
    return io.lastOutputDigest(this.q, path, size);
  }

  // ── artifacts (artifacts.ts, collections.ts) ────────────────────────────────────────────────────

  artifact(blake3: string): ArtifactRow | undefined {
    return artifacts.artifact(this.q, blake3);
  }
  artifactsByPrefix(prefix: string): ArtifactRow[] {
    return artifacts.artifactsByPrefix(this.q, prefix);
  }
  blob(blake3: string): Uint8Array | undefined {
    return artifacts.blob(this.q, blake3);
  }
  collectionsByDigest(blake3: string): CollectionRow[] {
    return collections.collectionsByDigest(this.q, blake3);
  }
  downloadsOf(url: string): { jobUid: string; path: string; blake3: string }[] {
    return collections.downloadsOf(this.q, url);
  }
}
