/** The `jobs` table: recording a job with its I/O in one transaction, and the queries over jobs. */

import type { SQLQueryBindings } from "bun:sqlite";
import type { IoRecord, JobRow, JobSummary, KnownArtifacts, NewJobInput } from "../core/types.ts";
import { hasKeys } from "../shared/objects.ts";
import { pathToBytes } from "../shared/paths.ts";
import { insertArtifactRows, putBlob } from "./artifacts.ts";
import { ioSetKey, setRows } from "./io-set-key.ts";
import { dropUnusedIoSet, findIoSet, type IoRole, insertIoSet, type SetRow } from "./job-io.ts";
import { SUMMARY_COLUMNS, toJob, toJobSummary } from "./job-rows.ts";
import { pathParam } from "./paths.ts";
import { json, newUid, type Row, type StoreDb } from "./statements.ts";

/** The keys of a job's input and output sets (ioSetKeys), made before insertJob; undefined: made by insertJob. */
export interface IoSetKeys {
  input?: string | null;
  output?: string | null;
}

/** The keys of the sets of these inputs and outputs (null: no such set), as insertJob makes them. */
export function ioSetKeys(inputs: readonly IoRecord[], outputs: readonly IoRecord[]): Required<IoSetKeys> {
  return { input: setKeyOf(inputs), output: setKeyOf(outputs) };
}

/** The key of a set of these records, null for none. */
function setKeyOf(records: readonly IoRecord[]): string | null {
  return records.length > 0 ? ioSetKey(records) : null;
}

/**
 * Records one job with its inputs and outputs atomically; returns its uid and step. Without a given step,
 * the step is assigned inside the write transaction (the step of an earlier job with the same identity,
 * else the next free number), so parallel roar runs never share a number. `finishesRun` removes that
 * in-flight registration in the same transaction. `known`: artifacts looked up while the job ran, whose rows are
 * not written again when no other connection has committed since (a re-run of a job reading 20,000 files spends
 * ~45 ms finding each of their rows already there).
 */
export function insertJob(
  q: StoreDb,
  job: NewJobInput,
  finishesRun?: string,
  known?: KnownArtifacts,
  /** The sets' keys when the caller made them already (ioSetKeys, over these very records as they are now). */
  keys?: IoSetKeys,
): { uid: string; step: number } {
  const uid = newUid();
  let step = job.step ?? 0;
  // The keys of the job's two sets, and the rows of a set not stored yet, before the write lock is taken (a re-run
  // over the same files makes no row at all).
  const inputKey = keys?.input !== undefined ? keys.input : setKeyOf(job.inputs);
  const outputKey = keys?.output !== undefined ? keys.output : setKeyOf(job.outputs);
  const rowsIfNew = (role: IoRole, key: string | null, records: readonly IoRecord[]) =>
    key !== null && findIoSet(q, role, key) === undefined ? setRows(records) : null;
  const inputRows = rowsIfNew("input", inputKey, job.inputs);
  const outputRows = rowsIfNew("output", outputKey, job.outputs);
  // Every artifact the job's rows name is written in this transaction, before the rows.
  q.writeWithParentsKnown(() => {
    // The one parent not written here: checked as the foreign key would have.
    if (!q.sql("SELECT 1 FROM sessions WHERE id = ?").get(job.sessionId))
      throw new Error(`FOREIGN KEY constraint failed: session ${job.sessionId} does not exist`);
    if (job.step === undefined)
      step = stepForIdentity(q, job.sessionId, job.stepIdentity) ?? maxStep(q, job.sessionId) + 1;
    if (finishesRun !== undefined) q.sql("DELETE FROM runs_in_flight WHERE id = ?").run(finishesRun);
    const seqRow = q.sql("SELECT coalesce(max(seq), 0) + 1 AS next FROM jobs").get() as { next: number };
    // The hot loop of a big job (tens of thousands of files): each artifact once, many rows a statement.
    const upserted = new Set<string>();
    // In this write transaction no one else commits: an unchanged version means every known row is still there.
    const present = known && known.digests.size > 0 && q.dataVersion() === known.version ? known.digests : null;
    const artifactRows: SQLQueryBindings[][] = [];
    const digestRows: SQLQueryBindings[][] = [];
    const now = Date.now();
    /** An artifact row for content not known to be there; digest rows whenever extra digests came with it. */
    const addArtifact = (io: IoRecord, path: SQLQueryBindings) => {
      const { blake3, digests } = io;
      // (A re-run's inputs are all known, most with no extra digests: nothing to look up twice.)
      const isKnown = blake3 !== null && present?.has(blake3) === true;
      if (blake3 && (!isKnown || hasKeys(digests)) && !upserted.has(blake3)) {
        upserted.add(blake3);
        if (!isKnown) artifactRows.push([blake3, io.size ?? 0, now, path]);
        // No entries array a row: most jobs ask for no extra digests, and a big job has tens of thousands of rows.
        if (digests)
          for (const algorithm in digests)
            if (algorithm !== "blake3") digestRows.push([blake3, algorithm, digests[algorithm] as string]);
      }
      // A link's content is its target text: kept under its digest for show and reproduce.
      if (blake3 && io.linkTarget !== undefined) putBlob(q, blake3, pathToBytes(io.linkTarget));
    };
    // A set already there names only artifacts that are there (a set's rows keep theirs): only extra digests and
    // link targets of its files can be new.
    const sets = { input: null as number | null, output: null as number | null };
    const rows = { input: inputRows, output: outputRows };
    for (const [role, list, key] of [
      ["input", job.inputs, inputKey],
      ["output", job.outputs, outputKey],
    ] as const) {
      const found = key === null ? null : (findIoSet(q, role, key) ?? null);
      sets[role] = found;
      // Stored since it was looked for (by another run): its rows are not needed; gone since: made now.
      if (found === null && key !== null) rows[role] ??= setRows(list);
      const setRowsOf = rows[role];
      for (let i = 0; i < list.length; i++) {
        const io = list[i] as IoRecord;
        if (found === null || hasKeys(io.digests) || io.linkTarget !== undefined)
          addArtifact(io, setRowsOf ? ((setRowsOf[i] as SetRow)[0] as SQLQueryBindings) : pathParam(io.path));
      }
    }
    insertArtifactRows(q, artifactRows, digestRows);
    if (inputKey !== null && sets.input === null) sets.input = insertIoSet(q, "input", inputKey, rows.input ?? []);
    if (outputKey !== null && sets.output === null)
      sets.output = insertIoSet(q, "output", outputKey, rows.output ?? []);
    q.sql(
      `INSERT INTO jobs (uid, seq, session_id, step, step_identity, kind, name, argv, cwd, started_at, duration_ms,
         trace_ms, post_ms, exit_code, signal, status, git, trace, metadata, input_set, output_set)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      sets.input,
      sets.output,
    );
  });
  return { uid, step };
}

/** Records how long roar spent after the command (known only once the job is written). */
export function setJobPostMs(q: StoreDb, uid: string, postMs: number): void {
  q.sql("UPDATE jobs SET post_ms = ? WHERE uid = ?").run(postMs, uid);
}

export function deleteJob(q: StoreDb, uid: string): void {
  q.write(() => {
    const row = q.sql("SELECT input_set, output_set FROM jobs WHERE uid = ?").get(uid) as {
      input_set: number | null;
      output_set: number | null;
    } | null;
    if (!row) return;
    // Directories a get/put job recorded go with it (their members cascade).
    q.sql("DELETE FROM collections WHERE json_extract(metadata, '$.jobUid') = ?").run(uid);
    q.sql("DELETE FROM jobs WHERE uid = ?").run(uid);
    if (row.input_set !== null) dropUnusedIoSet(q, "input", row.input_set);
    if (row.output_set !== null) dropUnusedIoSet(q, "output", row.output_set);
    // Artifacts no job refers to any more go too (their digests cascade).
    // One pass over the rows (inputs are not indexed by digest, see job-io.ts), not one search per artifact.
    q.sql(
      `DELETE FROM artifacts WHERE blake3 NOT IN (SELECT blake3 FROM output_set_rows WHERE blake3 IS NOT NULL)
         AND blake3 NOT IN (SELECT blake3 FROM input_set_rows WHERE blake3 IS NOT NULL)
         AND blake3 NOT IN (SELECT blake3 FROM collection_members)`,
    ).run();
  });
}

export function job(q: StoreDb, uid: string): JobRow | undefined {
  const r = q.sql("SELECT * FROM jobs WHERE uid = ?").get(uid) as Row | null;
  return r ? toJob(r) : undefined;
}

export function jobsByUidPrefix(q: StoreDb, prefix: string): JobRow[] {
  return (q.sql("SELECT * FROM jobs WHERE uid LIKE ? || '%' ORDER BY seq").all(prefix.toLowerCase()) as Row[]).map(
    toJob,
  );
}

/** Every job of a session, in recording order. */
export function sessionJobs(q: StoreDb, sessionId: number): JobRow[] {
  return (q.sql("SELECT * FROM jobs WHERE session_id = ? ORDER BY seq").all(sessionId) as Row[]).map(toJob);
}

/** Uids of a session's jobs of one kind, in recording order. */
export function sessionJobUids(q: StoreDb, sessionId: number, kind: JobRow["kind"]): string[] {
  const rows = q.sql("SELECT uid FROM jobs WHERE session_id = ? AND kind = ? ORDER BY seq").all(sessionId, kind);
  return (rows as { uid: string }[]).map((r) => r.uid);
}

/** A session's jobs without their git/trace/metadata JSON, in recording order: what graph queries need. */
export function sessionJobSummaries(q: StoreDb, sessionId: number): JobSummary[] {
  const rows = q.sql(`SELECT ${SUMMARY_COLUMNS} FROM jobs WHERE session_id = ? ORDER BY seq`).all(sessionId) as Row[];
  return rows.map(toJobSummary);
}

/** Highest step number used in a session (0 when empty). */
export function maxStep(q: StoreDb, sessionId: number): number {
  const r = q.sql("SELECT coalesce(max(step), 0) AS m FROM jobs WHERE session_id = ?").get(sessionId) as { m: number };
  return r.m;
}

/** The step of the latest job with an identity in a session: by the jobs_session_identity index (migration 8). */
export const STEP_OF_IDENTITY =
  "SELECT step FROM jobs WHERE session_id = ? AND step_identity = ? ORDER BY seq DESC LIMIT 1";

/**
 * The digests of the input set of the latest job with this step identity in the session (the same step run
 * again): every one an artifact of the store as of the returned data_version, since a set keeps the artifacts it
 * names. Null when no such job read files.
 */
export function priorInputDigests(
  q: StoreDb,
  sessionId: number,
  identity: string,
): { version: number; digests: Set<string> } | null {
  const version = q.dataVersion();
  const job = q
    .sql("SELECT input_set FROM jobs WHERE session_id = ? AND step_identity = ? ORDER BY seq DESC LIMIT 1")
    .get(sessionId, identity) as { input_set: number | null } | null;
  if (job?.input_set == null) return null;
  const digests = new Set<string>();
  for (const [digest] of q.sql("SELECT blake3 FROM input_set_rows WHERE set_id = ?").values(job.input_set) as [
    string | null,
  ][])
    if (digest !== null) digests.add(digest);
  return { version, digests };
}

/** The step already used by a job with this identity in the session, if any. */
export function stepForIdentity(q: StoreDb, sessionId: number, identity: string): number | undefined {
  const r = q.sql(STEP_OF_IDENTITY).get(sessionId, identity) as { step: number } | null;
  return r?.step;
}

/** The latest job recorded for a step of a session, optionally of one kind. */
export function latestJobOfStep(
  q: StoreDb,
  sessionId: number,
  step: number,
  kind?: JobRow["kind"],
): JobRow | undefined {
  const rows = q
    .sql("SELECT * FROM jobs WHERE session_id = ? AND step = ? ORDER BY seq DESC")
    .all(sessionId, step) as Row[];
  const r = kind === undefined ? rows[0] : rows.find((x) => (x.kind as string) === kind);
  return r ? toJob(r) : undefined;
}

/** Kinds used by each step number of a session (to explain "No node @3" when @B3 exists). */
export function sessionStepKinds(q: StoreDb, sessionId: number): Map<number, Set<JobRow["kind"]>> {
  const rows = q.sql("SELECT DISTINCT step, kind FROM jobs WHERE session_id = ?").all(sessionId) as Row[];
  const out = new Map<number, Set<JobRow["kind"]>>();
  for (const r of rows) {
    const set = out.get(r.step as number) ?? new Set();
    set.add(r.kind as JobRow["kind"]);
    out.set(r.step as number, set);
  }
  return out;
}

/** The most recent job of a session (highest seq). */
export function latestSessionJob(q: StoreDb, sessionId: number): JobRow | undefined {
  const r = q.sql("SELECT * FROM jobs WHERE session_id = ? ORDER BY seq DESC LIMIT 1").get(sessionId) as Row | null;
  return r ? toJob(r) : undefined;
}

/** Number of jobs in each session, keyed by session id. */
export function sessionJobCounts(q: StoreDb): Map<number, number> {
  const rows = q.sql("SELECT session_id, count(*) AS n FROM jobs GROUP BY session_id").all() as Row[];
  return new Map(rows.map((r) => [r.session_id as number, r.n as number]));
}

/** Per job of a session: its commit and the repository files it read (metadata.codeFiles), for staleness. */
export function sessionCodeFiles(
  q: StoreDb,
  sessionId: number,
): Map<string, { commit: string | null; files: string[] }> {
  const rows = q
    .sql(
      `SELECT uid, json_extract(git, '$.commit') AS commit_id, json_extract(metadata, '$.codeFiles') AS files
       FROM jobs WHERE session_id = ?`,
    )
    .all(sessionId) as Row[];
  const out = new Map<string, { commit: string | null; files: string[] }>();
  for (const r of rows) {
    out.set(r.uid as string, {
      commit: typeof r.commit_id === "string" ? r.commit_id : null,
      files: json(r.files, [] as string[]),
    });
  }
  return out;
}
