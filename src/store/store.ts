import type { Database, Statement } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { IoFlags } from "../core/io-flags.ts";
import type {
  ArtifactRow,
  CollectionRow,
  IoRecord,
  JobRow,
  JobSummary,
  JobWithIo,
  NewCollection,
  NewJobInput,
  RunInFlight,
  SessionRow,
} from "../core/types.ts";
import { RoarError } from "../shared/errors.ts";
import { bytesToPath, pathToBytes } from "../shared/paths.ts";
import { type OpenOptions, openDatabase } from "./db.ts";
import { SqliteHashCache } from "./hash-cache.ts";
import { pathFromRow, pathParam } from "./paths.ts";
import type { Project } from "./project.ts";

type Row = Record<string, unknown>;

export function newUid(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

function json<T>(text: unknown, fallback: T): T {
  if (typeof text !== "string" || text === "") return fallback;
  return JSON.parse(text) as T;
}

function toSession(r: Row): SessionRow {
  return {
    id: r.id as number,
    uid: r.uid as string,
    createdAt: r.created_at as number,
    active: r.active === 1,
    gitRepo: (r.git_repo as string | null) ?? null,
    gitCommitStart: (r.git_commit_start as string | null) ?? null,
    metadata: json(r.metadata, {}),
  };
}

function toJob(r: Row): JobRow {
  return {
    uid: r.uid as string,
    seq: r.seq as number,
    sessionId: r.session_id as number,
    step: r.step as number,
    stepIdentity: r.step_identity as string,
    kind: r.kind as JobRow["kind"],
    name: (r.name as string | null) ?? null,
    argv: json(r.argv, [] as string[]),
    cwd: r.cwd as string,
    startedAt: r.started_at as number,
    durationMs: r.duration_ms as number,
    traceMs: (r.trace_ms as number | null) ?? null,
    postMs: (r.post_ms as number | null) ?? null,
    exitCode: (r.exit_code as number | null) ?? null,
    signal: (r.signal as number | null) ?? null,
    status: r.status as JobRow["status"],
    git: json(r.git, {}),
    trace: json(r.trace, {}),
    metadata: json(r.metadata, {}),
  };
}

/**
 * The project database behind plain methods. Every statement is prepared once; each recorded job is one
 * transaction, so an interrupted roar never leaves half a job behind.
 */
export class RoarStore {
  readonly db: Database;
  /** Opened read-only because the store cannot be written (read-only mount, permissions): queries only. */
  readonly readOnly: boolean;
  private readonly statements = new Map<string, Statement>();

  constructor(db: Database, readOnly = false) {
    this.db = db;
    this.readOnly = readOnly;
  }

  /**
   * Opens the project's store. `create` (roar init only) makes a missing or empty database; `write` refuses a
   * read-only store up front — without it a read-only store opens read-only, for commands that only read.
   */
  static open(project: Project, options: OpenOptions = {}): RoarStore {
    const { db, readOnly } = openDatabase(project.dbPath, options);
    return new RoarStore(db, readOnly);
  }

  /** The hash cache kept in this store (lookups only on a read-only store). */
  hashCache(): SqliteHashCache {
    return new SqliteHashCache(this.db, { readOnly: this.readOnly });
  }

  close(): void {
    for (const s of this.statements.values()) s.finalize();
    this.statements.clear();
    this.db.close();
  }

  /** A cached prepared statement. */
  sql(text: string): Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  // ── sessions ────────────────────────────────────────────────────────────────────────────────────

  activeSession(): SessionRow | undefined {
    const r = this.sql("SELECT * FROM sessions WHERE active = 1").get() as Row | null;
    return r ? toSession(r) : undefined;
  }

  /** The active session, or the standard one-line error. */
  requireActiveSession(): SessionRow {
    const session = this.activeSession();
    if (!session) throw new RoarError("No active session.", 1, "hint: 'roar reset' starts one");
    return session;
  }

  sessions(): SessionRow[] {
    return (this.sql("SELECT * FROM sessions ORDER BY id").all() as Row[]).map(toSession);
  }

  sessionById(id: number): SessionRow | undefined {
    const r = this.sql("SELECT * FROM sessions WHERE id = ?").get(id) as Row | null;
    return r ? toSession(r) : undefined;
  }

  sessionsByUidPrefix(prefix: string): SessionRow[] {
    return (this.sql("SELECT * FROM sessions WHERE uid LIKE ? || '%' ORDER BY id").all(prefix) as Row[]).map(toSession);
  }

  /** Deactivates the current session (if any) and starts a new active one. */
  startSession(gitRepo: string | null = null): SessionRow {
    const tx = this.db.transaction(() => {
      this.sql("UPDATE sessions SET active = 0 WHERE active = 1").run();
      this.insertActiveSession(gitRepo);
    });
    tx.immediate();
    return this.activeSession() as SessionRow;
  }

  /** The active session, started when there is none; race-free between parallel roar processes. */
  ensureActiveSession(gitRepo: string | null = null): SessionRow {
    const found = this.activeSession();
    if (found) return found;
    const tx = this.db.transaction(() => {
      if (!this.sql("SELECT 1 FROM sessions WHERE active = 1").get()) this.insertActiveSession(gitRepo);
    });
    tx.immediate();
    return this.activeSession() as SessionRow;
  }

  private insertActiveSession(gitRepo: string | null): void {
    this.sql("INSERT INTO sessions (uid, created_at, active, git_repo) VALUES (?, ?, 1, ?)").run(
      newUid(),
      Date.now(),
      gitRepo,
    );
  }

  setSessionCommitStart(sessionId: number, commit: string): void {
    this.sql("UPDATE sessions SET git_commit_start = ? WHERE id = ? AND git_commit_start IS NULL").run(
      commit,
      sessionId,
    );
  }

  // ── jobs ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Records one job with its inputs and outputs atomically; returns its uid and step. Without a given step,
   * the step is assigned inside the write transaction (the step of an earlier job with the same identity,
   * else the next free number), so parallel roar runs never share a number. `finishesRun` removes that
   * in-flight registration in the same transaction.
   */
  insertJob(job: NewJobInput, finishesRun?: string): { uid: string; step: number } {
    const uid = newUid();
    let step = job.step ?? 0;
    const tx = this.db.transaction(() => {
      if (job.step === undefined)
        step = this.stepForIdentity(job.sessionId, job.stepIdentity) ?? this.maxStep(job.sessionId) + 1;
      if (finishesRun !== undefined) this.sql("DELETE FROM runs_in_flight WHERE id = ?").run(finishesRun);
      const seqRow = this.sql("SELECT coalesce(max(seq), 0) + 1 AS next FROM jobs").get() as { next: number };
      this.sql(
        `INSERT INTO jobs (uid, seq, session_id, step, step_identity, kind, name, argv, cwd, started_at, duration_ms,
           trace_ms, post_ms, exit_code, signal, status, git, trace, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        uid,
        seqRow.next,
        job.sessionId,
        step,
        job.stepIdentity,
        job.kind,
        job.name,
        JSON.stringify(job.argv),
        job.cwd,
        job.startedAt,
        job.durationMs,
        job.traceMs,
        job.postMs,
        job.exitCode,
        job.signal,
        job.status,
        JSON.stringify(job.git),
        JSON.stringify(job.trace),
        JSON.stringify(job.metadata),
      );
      // The hot loop of a big job (tens of thousands of rows): statements looked up once, each artifact once.
      const ioRow = this.sql(
        `INSERT OR REPLACE INTO job_io (job_uid, role, path, blake3, size, flags, prev_blake3, prev_mode)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const upserted = new Set<string>();
      for (const [role, list] of [
        ["input", job.inputs],
        ["output", job.outputs],
      ] as const) {
        for (const io of list) {
          if (io.blake3 && !upserted.has(io.blake3)) {
            upserted.add(io.blake3);
            this.upsertArtifact(io.blake3, io.size ?? 0, io.path, io.digests);
          }
          // A link's content is its target text: kept under its digest for show and reproduce.
          if (io.blake3 && io.linkTarget !== undefined) this.putBlob(io.blake3, pathToBytes(io.linkTarget));
          ioRow.run(
            uid,
            role,
            pathParam(io.path),
            io.blake3,
            io.size,
            io.flags,
            io.prevBlake3 ?? null,
            io.prevMode ?? null,
          );
        }
      }
    });
    tx.immediate();
    return { uid, step };
  }

  /** A get/put job and the directories it transferred (as collections), in one transaction. */
  insertTransferJob(job: NewJobInput, collections: readonly NewCollection[]): { uid: string; step: number } {
    let recorded = { uid: "", step: 0 };
    const tx = this.db.transaction(() => {
      recorded = this.insertJob(job); // nested: a savepoint inside this transaction
      for (const c of collections) {
        const metadata = { ...c.metadata, blake3: c.blake3, jobUid: recorded.uid };
        const { id } = this.sql(
          "INSERT INTO collections (name, kind, created_at, metadata) VALUES (?, ?, ?, ?) RETURNING id",
        ).get(c.name, c.kind, Date.now(), JSON.stringify(metadata)) as { id: number };
        for (const m of c.members)
          this.sql("INSERT INTO collection_members (collection_id, blake3, path) VALUES (?, ?, ?)").run(
            id,
            m.blake3,
            m.path,
          );
      }
    });
    tx.immediate();
    return recorded;
  }

  /** Collections whose composite digest is `blake3`, newest first, with their members. */
  collectionsByDigest(blake3: string): CollectionRow[] {
    const rows = this.sql(
      "SELECT * FROM collections WHERE json_extract(metadata, '$.blake3') = ? ORDER BY id DESC",
    ).all(blake3) as Row[];
    return rows.map((r) => {
      const metadata = json(r.metadata, {} as Record<string, unknown>);
      const members = this.sql("SELECT path, blake3 FROM collection_members WHERE collection_id = ? ORDER BY path").all(
        r.id as number,
      ) as { path: string; blake3: string }[];
      return {
        id: r.id as number,
        name: r.name as string,
        kind: r.kind as CollectionRow["kind"],
        createdAt: r.created_at as number,
        blake3: String(metadata.blake3 ?? ""),
        members,
        metadata,
      };
    });
  }

  /** Files `roar get` downloaded from a remote URL (newest job first): what `roar show <url>` resolves to. */
  downloadsOf(url: string): { jobUid: string; path: string; blake3: string }[] {
    return this.sql(
      `SELECT j.uid AS jobUid, json_extract(f.value, '$.path') AS path, json_extract(f.value, '$.blake3') AS blake3
       FROM jobs j, json_each(j.metadata, '$.transfer.files') f
       WHERE j.kind = 'get' AND json_extract(f.value, '$.url') = ? ORDER BY j.seq DESC`,
    ).all(url) as { jobUid: string; path: string; blake3: string }[];
  }

  // ── runs in flight ──────────────────────────────────────────────────────────────────────────────

  /** Registers a roar run that is about to trace (and drops registrations `isDead` says are stale). */
  registerRun(run: RunInFlight, isDead: (run: RunInFlight) => boolean): void {
    const tx = this.db.transaction(() => {
      for (const other of this.runsInFlight()) if (isDead(other)) this.finishRun(other.id);
      this.sql("INSERT INTO runs_in_flight (id, pid, pid_start, started_at, trace_dir) VALUES (?, ?, ?, ?, ?)").run(
        run.id,
        run.pid,
        run.pidStart,
        run.startedAt,
        run.traceDir,
      );
    });
    tx.immediate();
  }

  /** Removes a run's registration (it recorded its job, or ended without one). */
  finishRun(id: string): void {
    this.sql("DELETE FROM runs_in_flight WHERE id = ?").run(id);
  }

  runsInFlight(): RunInFlight[] {
    const rows = this.sql("SELECT * FROM runs_in_flight ORDER BY started_at").all() as Row[];
    return rows.map((r) => ({
      id: r.id as string,
      pid: r.pid as number,
      pidStart: (r.pid_start as number | null) ?? null,
      startedAt: r.started_at as number,
      traceDir: r.trace_dir as string,
    }));
  }

  private upsertArtifact(blake3: string, size: number, path: string, digests?: Record<string, string>): void {
    this.sql(
      "INSERT INTO artifacts (blake3, size, first_seen_at, first_seen_path) VALUES (?, ?, ?, ?) ON CONFLICT(blake3) DO NOTHING",
    ).run(blake3, size, Date.now(), pathParam(path));
    for (const [algorithm, digest] of Object.entries(digests ?? {})) {
      if (algorithm === "blake3") continue;
      this.sql("INSERT OR IGNORE INTO artifact_digests (blake3, algorithm, digest) VALUES (?, ?, ?)").run(
        blake3,
        algorithm,
        digest,
      );
    }
  }

  job(uid: string): JobRow | undefined {
    const r = this.sql("SELECT * FROM jobs WHERE uid = ?").get(uid) as Row | null;
    return r ? toJob(r) : undefined;
  }

  jobsByUidPrefix(prefix: string): JobRow[] {
    return (this.sql("SELECT * FROM jobs WHERE uid LIKE ? || '%' ORDER BY seq").all(prefix.toLowerCase()) as Row[]).map(
      toJob,
    );
  }

  /** Every job of a session, in recording order. */
  sessionJobs(sessionId: number): JobRow[] {
    return (this.sql("SELECT * FROM jobs WHERE session_id = ? ORDER BY seq").all(sessionId) as Row[]).map(toJob);
  }

  /** All inputs and outputs of a session's jobs, keyed by job uid (one query). */
  sessionIo(sessionId: number): Map<string, { inputs: IoRecord[]; outputs: IoRecord[] }> {
    const rows = this.sql(
      `SELECT io.* FROM job_io io JOIN jobs j ON j.uid = io.job_uid WHERE j.session_id = ? ORDER BY io.path`,
    ).all(sessionId) as Row[];
    return groupIo(rows, (b) => this.blob(b));
  }

  jobIo(uid: string): { inputs: IoRecord[]; outputs: IoRecord[] } {
    const rows = this.sql("SELECT * FROM job_io WHERE job_uid = ? ORDER BY path").all(uid) as Row[];
    return groupIo(rows, (b) => this.blob(b)).get(uid) ?? { inputs: [], outputs: [] };
  }

  jobWithIo(uid: string): JobWithIo | undefined {
    const job = this.job(uid);
    if (!job) return undefined;
    const io = this.jobIo(uid);
    const digests = this.digestsFor([...io.inputs, ...io.outputs].map((x) => x.blake3).filter((x) => x !== null));
    for (const x of [...io.inputs, ...io.outputs]) if (x.blake3) x.digests = digests.get(x.blake3) ?? {};
    return { ...job, ...io };
  }

  /** Highest step number used in a session (0 when empty). */
  maxStep(sessionId: number): number {
    const r = this.sql("SELECT coalesce(max(step), 0) AS m FROM jobs WHERE session_id = ?").get(sessionId) as {
      m: number;
    };
    return r.m;
  }

  /** The step already used by a job with this identity in the session, if any. */
  stepForIdentity(sessionId: number, identity: string): number | undefined {
    const r = this.sql(
      "SELECT step FROM jobs WHERE session_id = ? AND step_identity = ? ORDER BY seq DESC LIMIT 1",
    ).get(sessionId, identity) as { step: number } | null;
    return r?.step;
  }

  deleteJob(uid: string): void {
    const tx = this.db.transaction(() => {
      this.sql("DELETE FROM job_io WHERE job_uid = ?").run(uid);
      // Directories a get/put job recorded go with it (their members cascade).
      this.sql("DELETE FROM collections WHERE json_extract(metadata, '$.jobUid') = ?").run(uid);
      this.sql("DELETE FROM jobs WHERE uid = ?").run(uid);
      // Artifacts no job refers to any more go too (their digests cascade).
      this.sql(
        `DELETE FROM artifacts WHERE NOT EXISTS (SELECT 1 FROM job_io WHERE job_io.blake3 = artifacts.blake3)
           AND NOT EXISTS (SELECT 1 FROM collection_members m WHERE m.blake3 = artifacts.blake3)`,
      ).run();
    });
    tx.immediate();
  }

  // ── artifacts ───────────────────────────────────────────────────────────────────────────────────

  artifact(blake3: string): ArtifactRow | undefined {
    const r = this.sql("SELECT * FROM artifacts WHERE blake3 = ?").get(blake3) as Row | null;
    if (!r) return undefined;
    return {
      blake3: r.blake3 as string,
      size: r.size as number,
      firstSeenAt: r.first_seen_at as number,
      firstSeenPath: r.first_seen_path === null ? null : pathFromRow(r.first_seen_path),
      digests: this.digestsFor([r.blake3 as string]).get(r.blake3 as string) ?? {},
    };
  }

  /** Artifacts whose BLAKE3 (or any other recorded digest) starts with `prefix`. */
  artifactsByPrefix(prefix: string): ArtifactRow[] {
    const p = prefix.toLowerCase();
    const rows = this.sql(
      `SELECT blake3 FROM artifacts WHERE blake3 LIKE ? || '%'
       UNION SELECT blake3 FROM artifact_digests WHERE digest LIKE ? || '%' LIMIT 50`,
    ).all(p, p) as { blake3: string }[];
    return rows.map((r) => this.artifact(r.blake3)).filter((a): a is ArtifactRow => a !== undefined);
  }

  /** Jobs linked to an artifact, with the role and path of each link. */
  artifactLinks(blake3: string): { job: JobRow; role: "input" | "output"; path: string }[] {
    const rows = this.sql(
      `SELECT j.*, io.role AS io_role, io.path AS io_path FROM job_io io JOIN jobs j ON j.uid = io.job_uid
       WHERE io.blake3 = ? ORDER BY j.seq`,
    ).all(blake3) as Row[];
    return rows.map((r) => ({ job: toJob(r), role: r.io_role as "input" | "output", path: pathFromRow(r.io_path) }));
  }

  digestsFor(blake3s: string[]): Map<string, Record<string, string>> {
    const out = new Map<string, Record<string, string>>();
    for (const b of new Set(blake3s)) {
      const rows = this.sql("SELECT algorithm, digest FROM artifact_digests WHERE blake3 = ?").all(b) as {
        algorithm: string;
        digest: string;
      }[];
      const d: Record<string, string> = {};
      for (const r of rows) d[r.algorithm] = r.digest;
      out.set(b, d);
    }
    return out;
  }

  // ── queries for dag / log / status / show / lineage / pop (one query per table, maps in memory) ──────────

  /** A session's jobs without their git/trace/metadata JSON, in recording order: what graph queries need. */
  sessionJobSummaries(sessionId: number): JobSummary[] {
    const rows = this.sql(
      `SELECT uid, seq, step, kind, name, argv, cwd, started_at, duration_ms, exit_code, signal, status
       FROM jobs WHERE session_id = ? ORDER BY seq`,
    ).all(sessionId) as Row[];
    return rows.map((r) => ({
      uid: r.uid as string,
      seq: r.seq as number,
      sessionId,
      step: r.step as number,
      kind: r.kind as JobSummary["kind"],
      name: (r.name as string | null) ?? null,
      argv: json(r.argv, [] as string[]),
      cwd: r.cwd as string,
      startedAt: r.started_at as number,
      durationMs: r.duration_ms as number,
      exitCode: (r.exit_code as number | null) ?? null,
      signal: (r.signal as number | null) ?? null,
      status: r.status as JobSummary["status"],
    }));
  }

  /** All inputs and outputs of a session's jobs, keyed by job uid, in no particular order (one query). */
  sessionIoUnordered(sessionId: number): Map<string, { inputs: IoRecord[]; outputs: IoRecord[] }> {
    // Rows as arrays (.values()) and no ORDER BY: this is the hot path of dag/status on big sessions. When the
    // session holds most of the database (the usual case), one sequential scan beats an index lookup per job.
    type IoValues = [string, number, string | Uint8Array, string | null, number | null, number][];
    const counts = this.sql(
      "SELECT (SELECT count(*) FROM jobs WHERE session_id = ?) AS mine, (SELECT count(*) FROM jobs) AS total",
    ).get(sessionId) as { mine: number; total: number };
    let rows: IoValues;
    if (counts.mine * 2 >= counts.total) {
      const uids = new Set(
        (this.sql("SELECT uid FROM jobs WHERE session_id = ?").values(sessionId) as [string][]).map((r) => r[0]),
      );
      const all = this.sql(
        "SELECT job_uid, role = 'input', path, blake3, size, flags FROM job_io",
      ).values() as IoValues;
      rows = counts.mine === counts.total ? all : all.filter((r) => uids.has(r[0]));
    } else {
      rows = this.sql(
        `SELECT io.job_uid, io.role = 'input', io.path, io.blake3, io.size, io.flags FROM jobs j
         JOIN job_io io ON io.job_uid = j.uid WHERE j.session_id = ?`,
      ).values(sessionId) as IoValues;
    }
    const out = new Map<string, { inputs: IoRecord[]; outputs: IoRecord[] }>();
    let lastUid = "";
    let entry: { inputs: IoRecord[]; outputs: IoRecord[] } = { inputs: [], outputs: [] };
    for (const r of rows) {
      if (r[0] !== lastUid) {
        lastUid = r[0];
        const found = out.get(lastUid);
        if (found) entry = found;
        else {
          entry = { inputs: [], outputs: [] };
          out.set(lastUid, entry);
        }
      }
      const io: IoRecord = { path: pathFromRow(r[2]), blake3: r[3], size: r[4], flags: r[5] };
      (r[1] === 1 ? entry.inputs : entry.outputs).push(io);
    }
    return out;
  }

  /** The latest job recorded for a step of a session, optionally of one kind. */
  latestJobOfStep(sessionId: number, step: number, kind?: JobRow["kind"]): JobRow | undefined {
    const rows = this.sql("SELECT * FROM jobs WHERE session_id = ? AND step = ? ORDER BY seq DESC").all(
      sessionId,
      step,
    ) as Row[];
    const r = kind === undefined ? rows[0] : rows.find((x) => (x.kind as string) === kind);
    return r ? toJob(r) : undefined;
  }

  /** Kinds used by each step number of a session (to explain "No node @3" when @B3 exists). */
  sessionStepKinds(sessionId: number): Map<number, Set<JobRow["kind"]>> {
    const rows = this.sql("SELECT DISTINCT step, kind FROM jobs WHERE session_id = ?").all(sessionId) as Row[];
    const out = new Map<number, Set<JobRow["kind"]>>();
    for (const r of rows) {
      const set = out.get(r.step as number) ?? new Set();
      set.add(r.kind as JobRow["kind"]);
      out.set(r.step as number, set);
    }
    return out;
  }

  /** The most recent job of a session (highest seq). */
  latestSessionJob(sessionId: number): JobRow | undefined {
    const r = this.sql("SELECT * FROM jobs WHERE session_id = ? ORDER BY seq DESC LIMIT 1").get(
      sessionId,
    ) as Row | null;
    return r ? toJob(r) : undefined;
  }

  /** Every link recorded at a path (any session), newest job first. */
  linksAtPath(
    path: string,
  ): { jobUid: string; seq: number; sessionId: number; role: "input" | "output"; blake3: string | null }[] {
    const rows = this.sql(
      `SELECT io.job_uid, io.role, io.blake3, j.seq, j.session_id FROM job_io io JOIN jobs j ON j.uid = io.job_uid
       WHERE io.path = ? ORDER BY j.seq DESC`,
    ).all(pathParam(path)) as Row[];
    return rows.map((r) => ({
      jobUid: r.job_uid as string,
      seq: r.seq as number,
      sessionId: r.session_id as number,
      role: r.role as "input" | "output",
      blake3: (r.blake3 as string | null) ?? null,
    }));
  }

  /** Links of many artifacts at once: blake3 → links (job uid, seq, session, role, path). */
  linksOfArtifacts(
    blake3s: readonly string[],
  ): Map<string, { jobUid: string; seq: number; sessionId: number; role: "input" | "output"; path: string }[]> {
    const out = new Map<
      string,
      { jobUid: string; seq: number; sessionId: number; role: "input" | "output"; path: string }[]
    >();
    for (const b of new Set(blake3s)) {
      const rows = this.sql(
        `SELECT io.job_uid, io.role, io.path, j.seq, j.session_id FROM job_io io JOIN jobs j ON j.uid = io.job_uid
         WHERE io.blake3 = ? ORDER BY j.seq`,
      ).all(b) as Row[];
      out.set(
        b,
        rows.map((r) => ({
          jobUid: r.job_uid as string,
          seq: r.seq as number,
          sessionId: r.session_id as number,
          role: r.role as "input" | "output",
          path: pathFromRow(r.path),
        })),
      );
    }
    return out;
  }

  /** Number of jobs in each session, keyed by session id. */
  sessionJobCounts(): Map<number, number> {
    const rows = this.sql("SELECT session_id, count(*) AS n FROM jobs GROUP BY session_id").all() as Row[];
    return new Map(rows.map((r) => [r.session_id as number, r.n as number]));
  }

  /** Every path some job wrote (known outputs do not make the git tree dirty). */
  outputPaths(): Set<string> {
    const rows = this.sql("SELECT DISTINCT path FROM job_io WHERE role = 'output'").values() as [unknown][];
    return new Set(rows.map((r) => pathFromRow(r[0])));
  }

  /** Which of `paths` some recorded job wrote (indexed lookups: cheap when the job read few files). */
  recordedOutputsAmong(paths: readonly string[]): Set<string> {
    const out = new Set<string>();
    const one = this.sql("SELECT 1 FROM job_io WHERE path = ? AND role = 'output' LIMIT 1");
    for (const p of paths) if (one.get(pathParam(p)) !== null) out.add(p);
    return out;
  }

  /** Whether some job of this project wrote this content (an output, under any name). */
  isRecordedOutput(blake3: string): boolean {
    return this.sql("SELECT 1 FROM job_io WHERE blake3 = ? AND role = 'output' LIMIT 1").get(blake3) !== null;
  }

  /** Per job of a session: its commit and the repository files it read (metadata.codeFiles), for staleness. */
  sessionCodeFiles(sessionId: number): Map<string, { commit: string | null; files: string[] }> {
    const rows = this.sql(
      `SELECT uid, json_extract(git, '$.commit') AS commit_id, json_extract(metadata, '$.codeFiles') AS files
       FROM jobs WHERE session_id = ?`,
    ).all(sessionId) as Row[];
    const out = new Map<string, { commit: string | null; files: string[] }>();
    for (const r of rows) {
      out.set(r.uid as string, {
        commit: typeof r.commit_id === "string" ? r.commit_id : null,
        files: json(r.files, [] as string[]),
      });
    }
    return out;
  }

  /** The digest last recorded for an output at `path` with this size, if any. */
  lastOutputDigest(path: string, size: number): string | undefined {
    const r = this.sql(
      "SELECT blake3 FROM job_io WHERE path = ? AND role = 'output' AND size = ? AND blake3 IS NOT NULL ORDER BY rowid DESC LIMIT 1",
    ).get(pathParam(path), size) as { blake3: string } | null;
    return r?.blake3;
  }

  // ── blobs ───────────────────────────────────────────────────────────────────────────────────────

  putBlob(blake3: string, bytes: Uint8Array): void {
    this.sql("INSERT OR IGNORE INTO blobs (blake3, bytes) VALUES (?, ?)").run(blake3, bytes);
  }

  blob(blake3: string): Uint8Array | undefined {
    const r = this.sql("SELECT bytes FROM blobs WHERE blake3 = ?").get(blake3) as { bytes: Uint8Array } | null;
    return r?.bytes;
  }
}

function groupIo(
  rows: Row[],
  blob: (blake3: string) => Uint8Array | undefined,
): Map<string, { inputs: IoRecord[]; outputs: IoRecord[] }> {
  const out = new Map<string, { inputs: IoRecord[]; outputs: IoRecord[] }>();
  for (const r of rows) {
    const uid = r.job_uid as string;
    let entry = out.get(uid);
    if (!entry) {
      entry = { inputs: [], outputs: [] };
      out.set(uid, entry);
    }
    const io: IoRecord = {
      path: pathFromRow(r.path),
      blake3: (r.blake3 as string | null) ?? null,
      size: (r.size as number | null) ?? null,
      flags: r.flags as number,
    };
    if (r.prev_blake3 !== null && r.prev_blake3 !== undefined) io.prevBlake3 = r.prev_blake3 as string;
    if (r.prev_mode !== null && r.prev_mode !== undefined) io.prevMode = r.prev_mode as number;
    if ((io.flags & IoFlags.SYMLINK) !== 0 && io.blake3) {
      const target = blob(io.blake3);
      if (target) io.linkTarget = bytesToPath(target);
    }
    (r.role === "input" ? entry.inputs : entry.outputs).push(io);
  }
  return out;
}
