/** The `job_io` table: what each job read and wrote, and the links between jobs and artifacts it makes. */
import type { SQLQueryBindings } from "bun:sqlite";
import { IoFlags } from "../core/io-flags.ts";
import type { IoRecord, JobRow } from "../core/types.ts";
import { bytesToPath } from "../shared/paths.ts";
import { toJob } from "./job-rows.ts";
import { pathFromRow, pathParam } from "./paths.ts";
import { jsonList, type Row, type StoreDb } from "./statements.ts";

export interface JobIo {
  inputs: IoRecord[];
  outputs: IoRecord[];
}

/** A job's link to an artifact (as `linksOfArtifacts` and `linksAtPath` report it). */
export interface ArtifactLink {
  jobUid: string;
  seq: number;
  sessionId: number;
  role: "input" | "output";
}

/**
 * A job's io rows of one role, as insertIoRows writes them: `[path (a pathParam), blake3, size, flags]`, with
 * `prev_blake3, prev_mode` appended in `withPrior` (outputs whose earlier content is known).
 */
export interface IoRowsOfRole {
  plain: SQLQueryBindings[][];
  withPrior: SQLQueryBindings[][];
}

/**
 * Writes the I/O rows of a job being recorded (inside its transaction), a role at a time: the job's seq bound once
 * a statement and the role a literal, so that most rows bind 4 values instead of 8 (22,000 rows: their statements
 * take ~15 % less time).
 */
export function insertIoRows(q: StoreDb, jobSeq: number, rows: Record<"input" | "output", IoRowsOfRole>): void {
  for (const role of ["input", "output"] as const) {
    const { plain, withPrior } = rows[role];
    q.insertMany("INSERT OR FAIL INTO job_io (job_seq, role, path, blake3, size, flags)", plain, {
      tuple: `(?1, '${role}', ?, ?, ?, ?)`,
      width: 4,
      shared: [jobSeq],
    });
    q.insertMany(
      "INSERT OR FAIL INTO job_io (job_seq, role, path, blake3, size, flags, prev_blake3, prev_mode)",
      withPrior,
      { tuple: `(?1, '${role}', ?, ?, ?, ?, ?, ?)`, width: 6, shared: [jobSeq] },
    );
  }
}

function groupIo(rows: Row[], blob: (blake3: string) => Uint8Array | undefined): Map<string, JobIo> {
  const out = new Map<string, JobIo>();
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

/** All inputs and outputs of a session's jobs, keyed by job uid (one query). */
export function sessionIo(q: StoreDb, sessionId: number, blob: (b: string) => Uint8Array | undefined) {
  const rows = q
    .sql(
      `SELECT io.*, j.uid AS job_uid FROM job_io io JOIN jobs j ON j.seq = io.job_seq WHERE j.session_id = ?
       ORDER BY io.path`,
    )
    .all(sessionId) as Row[];
  return groupIo(rows, blob);
}

export function jobIo(q: StoreDb, uid: string, blob: (b: string) => Uint8Array | undefined): JobIo {
  const rows = q
    .sql(
      "SELECT io.*, j.uid AS job_uid FROM jobs j JOIN job_io io ON io.job_seq = j.seq WHERE j.uid = ? ORDER BY io.path",
    )
    .all(uid) as Row[];
  return groupIo(rows, blob).get(uid) ?? { inputs: [], outputs: [] };
}

/**
 * All inputs and outputs of a session's jobs, keyed by job uid, in no particular order. `inputsOf`: only these
 * jobs' inputs (with every job's outputs), as judging staleness needs: a superseded job's inputs are most of a
 * re-run session's rows and decide nothing.
 */
export function sessionIoUnordered(q: StoreDb, sessionId: number, inputsOf?: ReadonlySet<string>): Map<string, JobIo> {
  // Rows as arrays (.values()) and no ORDER BY: this is the hot path of dag/status on big sessions. When the
  // session holds most of the database (the usual case), one sequential scan beats an index lookup per job.
  type IoValues = [number, number, string | Uint8Array, string | null, number | null, number][];
  // The session's jobs, seq → uid (rows name their job by seq).
  const jobs = new Map(q.sql("SELECT seq, uid FROM jobs WHERE session_id = ?").values(sessionId) as [number, string][]);
  const total = (q.sql("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
  const COLUMNS = "io.job_seq, io.role = 'input', io.path, io.blake3, io.size, io.flags";
  let rows: IoValues;
  if (inputsOf) {
    // By the (job, role) index: every job's outputs, then the inputs of the jobs asked for.
    const role = (r: "input" | "output") =>
      q.sql(`SELECT ${COLUMNS} FROM job_io io WHERE io.job_seq = ? AND io.role = '${r}'`);
    rows = [];
    const add = (found: IoValues) => {
      for (const r of found) rows.push(r); // not push(...found): a job's rows can outnumber a call's arguments
    };
    for (const [seq, uid] of jobs) {
      add(role("output").values(seq) as IoValues);
      if (inputsOf.has(uid)) add(role("input").values(seq) as IoValues);
    }
  } else if (jobs.size * 2 >= total) {
    const all = q.sql(`SELECT ${COLUMNS} FROM job_io io`).values() as IoValues;
    rows = jobs.size === total ? all : all.filter((r) => jobs.has(r[0]));
  } else {
    rows = q
      .sql(`SELECT ${COLUMNS} FROM jobs j JOIN job_io io ON io.job_seq = j.seq WHERE j.session_id = ?`)
      .values(sessionId) as IoValues;
  }
  const out = new Map<string, JobIo>();
  let lastSeq = -1;
  let entry: JobIo = { inputs: [], outputs: [] };
  for (const r of rows) {
    if (r[0] !== lastSeq) {
      lastSeq = r[0];
      const uid = jobs.get(lastSeq) as string;
      const found = out.get(uid);
      if (found) entry = found;
      else {
        entry = { inputs: [], outputs: [] };
        out.set(uid, entry);
      }
    }
    const io: IoRecord = { path: pathFromRow(r[2]), blake3: r[3], size: r[4], flags: r[5] };
    (r[1] === 1 ? entry.inputs : entry.outputs).push(io);
  }
  return out;
}

/*
 * Only outputs are indexed, by path and by digest (migration 5): a job's inputs are most of its rows, and two
 * more index entries each made recording a file-heavy job twice as slow. Lookups of inputs by path or by digest
 * scan the inputs once per call, so the callers ask for many at once. The digest index holds the first 16 hex
 * digits (migration 7): a lookup names that prefix, exactly as the index does, and then the whole digest.
 */
const LINK_COLUMNS = "j.uid AS job_uid, io.role, io.blake3, io.path, j.seq, j.session_id";

/** The condition that finds the output rows of digest `?1` by their index (`io` being job_io). */
const OUTPUT_DIGEST_IS_1 = "substr(io.blake3, 1, 16) = substr(?1, 1, 16) AND io.blake3 = ?1 AND io.role = 'output'";

/** Links of one role whose `column` is one of `list` (a jsonList): by the outputs' index, or one pass over inputs. */
function linksIn(q: StoreDb, column: "path" | "blake3", list: string, role: "input" | "output"): Row[] {
  if (column === "blake3" && role === "output") {
    return q
      .sql(
        `SELECT ${LINK_COLUMNS} FROM json_each(?) d
         JOIN job_io io ON substr(io.blake3, 1, 16) = substr(d.value, 1, 16) AND io.blake3 = d.value
           AND io.role = 'output'
         JOIN jobs j ON j.seq = io.job_seq`,
      )
      .all(list) as Row[];
  }
  return q
    .sql(
      `SELECT ${LINK_COLUMNS} FROM job_io io JOIN jobs j ON j.seq = io.job_seq
       WHERE io.${column} IN (SELECT value FROM json_each(?)) AND io.role = '${role}'`,
    )
    .all(list) as Row[];
}

/** Links of one role at one path (a name that is not UTF-8, stored as a BLOB; outputs by their index). */
function linksAt(q: StoreDb, path: string | Uint8Array, role: "input" | "output"): Row[] {
  return q
    .sql(
      `SELECT ${LINK_COLUMNS} FROM job_io io JOIN jobs j ON j.seq = io.job_seq
       WHERE io.path = ? AND io.role = '${role}'`,
    )
    .all(path) as Row[];
}

const byRole = (a: Row, b: Row) => ((a.role as string) < (b.role as string) ? -1 : a.role === b.role ? 0 : 1);
const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Jobs linked to an artifact, with the role and path of each link, in job order. */
export function artifactLinks(q: StoreDb, blake3: string): { job: JobRow; role: "input" | "output"; path: string }[] {
  const select = (role: "input" | "output") =>
    q
      .sql(
        `SELECT j.*, io.role AS role, io.path AS io_path FROM job_io io JOIN jobs j ON j.seq = io.job_seq
         WHERE ${role === "output" ? OUTPUT_DIGEST_IS_1 : "io.blake3 = ?1 AND io.role = 'input'"}`,
      )
      .all(blake3) as Row[];
  const rows = [...select("output"), ...select("input")].sort(
    (a, b) => (a.seq as number) - (b.seq as number) || byRole(a, b),
  );
  return rows.map((r) => ({ job: toJob(r), role: r.role as "input" | "output", path: pathFromRow(r.io_path) }));
}

/** Every link recorded at a path (any session), newest job first. */
export function linksAtPath(q: StoreDb, path: string): (ArtifactLink & { blake3: string | null })[] {
  return linksAtPaths(q, [path]).get(path) ?? [];
}

/** Every link recorded at each of `paths` (any session), newest job first; every path has an entry. */
export function linksAtPaths(
  q: StoreDb,
  paths: readonly string[],
): Map<string, (ArtifactLink & { blake3: string | null })[]> {
  const out = new Map<string, (ArtifactLink & { blake3: string | null })[]>(paths.map((p) => [p, []]));
  const rows: Row[] = [];
  const text = [...out.keys()].filter((p) => typeof pathParam(p) === "string");
  if (text.length > 0) {
    const list = jsonList(text);
    rows.push(...linksIn(q, "path", list, "output"), ...linksIn(q, "path", list, "input"));
  }
  // A name that is not UTF-8 is stored as a BLOB: looked up on its own.
  for (const p of out.keys()) {
    const param = pathParam(p);
    if (typeof param !== "string") rows.push(...linksAt(q, param, "output"), ...linksAt(q, param, "input"));
  }
  rows.sort((a, b) => (b.seq as number) - (a.seq as number) || byRole(a, b));
  for (const r of rows)
    out.get(pathFromRow(r.path))?.push({ ...toLink(r), blake3: (r.blake3 as string | null) ?? null });
  return out;
}

/**
 * Links of many artifacts at once: blake3 → links in job order; every asked digest has an entry. `role` limits
 * them to producers or consumers (producers only: indexed, no pass over the inputs).
 */
export function linksOfArtifacts(
  q: StoreDb,
  blake3s: readonly string[],
  role?: "input" | "output",
): Map<string, (ArtifactLink & { path: string })[]> {
  const out = new Map<string, (ArtifactLink & { path: string })[]>(blake3s.map((b) => [b, []]));
  if (out.size === 0) return out;
  const list = jsonList(out.keys());
  const rows: Row[] = [];
  for (const r of role ? [role] : (["output", "input"] as const)) rows.push(...linksIn(q, "blake3", list, r));
  rows.sort(
    (a, b) => (a.seq as number) - (b.seq as number) || byRole(a, b) || byPath(pathFromRow(a.path), pathFromRow(b.path)),
  );
  for (const r of rows) out.get(r.blake3 as string)?.push({ ...toLink(r), path: pathFromRow(r.path) });
  return out;
}

function toLink(r: Row): ArtifactLink {
  return {
    jobUid: r.job_uid as string,
    seq: r.seq as number,
    sessionId: r.session_id as number,
    role: r.role as "input" | "output",
  };
}

/** Jobs that wrote this content; `replayable`: only run and build jobs (a get's files are external inputs). */
export function producerUids(q: StoreDb, blake3: string, replayable: boolean): string[] {
  const rows = replayable
    ? q
        .sql(
          `SELECT DISTINCT j.uid AS job_uid FROM job_io io JOIN jobs j ON j.seq = io.job_seq
           WHERE ${OUTPUT_DIGEST_IS_1} AND j.kind IN ('run', 'build')`,
        )
        .all(blake3)
    : q
        .sql(
          `SELECT DISTINCT j.uid AS job_uid FROM job_io io JOIN jobs j ON j.seq = io.job_seq
           WHERE ${OUTPUT_DIGEST_IS_1}`,
        )
        .all(blake3);
  return (rows as { job_uid: string }[]).map((r) => r.job_uid);
}

/** Which of `paths` some recorded job wrote (one query; a path that is not UTF-8 is looked up on its own). */
export function recordedOutputsAmong(q: StoreDb, paths: readonly string[]): Set<string> {
  const text = paths.filter((p) => typeof pathParam(p) === "string");
  const written = new Set<string>();
  if (text.length > 0) {
    const rows = q
      .sql("SELECT DISTINCT path FROM job_io WHERE role = 'output' AND path IN (SELECT value FROM json_each(?))")
      .values(jsonList(text)) as [string][];
    for (const [path] of rows) written.add(path);
  }
  const one = q.sql("SELECT 1 FROM job_io WHERE path = ? AND role = 'output' LIMIT 1");
  const out = new Set<string>();
  for (const p of paths) {
    const param = pathParam(p);
    if (typeof param === "string" ? written.has(p) : one.get(param) !== null) out.add(p);
  }
  return out;
}

/** Whether some job of this project wrote this content (an output, under any name). */
export function isRecordedOutput(q: StoreDb, blake3: string): boolean {
  return q.sql(`SELECT 1 FROM job_io io WHERE ${OUTPUT_DIGEST_IS_1} LIMIT 1`).get(blake3) !== null;
}

/** The digest last recorded for an output at `path` with this size, if any. */
export function lastOutputDigest(q: StoreDb, path: string, size: number): string | undefined {
  const r = q
    .sql(
      "SELECT blake3 FROM job_io WHERE path = ? AND role = 'output' AND size = ? AND blake3 IS NOT NULL ORDER BY rowid DESC LIMIT 1",
    )
    .get(pathParam(path), size) as { blake3: string } | null;
  return r?.blake3;
}
