/**
 * What each job read and wrote, and the links between jobs and artifacts it makes: its outputs are rows of `job_io`,
 * its inputs an input set (`input_sets`, `input_set_rows`) that jobs reading the same content share.
 */
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
 * A job's io rows of one role, as insertJob builds them: `[path (a pathParam), blake3, size, flags]`, with
 * `prev_blake3, prev_mode` appended in `withPrior` (outputs whose earlier content is known).
 */
export interface IoRowsOfRole {
  plain: SQLQueryBindings[][];
  withPrior: SQLQueryBindings[][];
}

/**
 * Writes the output rows of a job being recorded (inside its transaction): the job's seq bound once a statement
 * and the role a literal, so that most rows bind 4 values instead of 8 (22,000 rows: their statements take ~15 %
 * less time). Inputs are not rows of the job: see inputSetOf.
 */
export function insertOutputRows(q: StoreDb, jobSeq: number, { plain, withPrior }: IoRowsOfRole): void {
  q.insertMany("INSERT OR FAIL INTO job_io (job_seq, role, path, blake3, size, flags)", plain, {
    tuple: "(?1, 'output', ?, ?, ?, ?)",
    width: 4,
    shared: [jobSeq],
  });
  q.insertMany(
    "INSERT OR FAIL INTO job_io (job_seq, role, path, blake3, size, flags, prev_blake3, prev_mode)",
    withPrior,
    { tuple: "(?1, 'output', ?, ?, ?, ?, ?, ?)", width: 6, shared: [jobSeq] },
  );
}

/*
 * A job's inputs are an input set (migration 8 → 9), shared by every job that read exactly those files with
 * exactly that content: a re-run over an unchanged dataset of 20,000 files adds one reference, not 20,000 rows
 * (recording it: insert phase 30–85 → ~10 ms, and the store stops growing by the dataset's size a run). A set is
 * named by a digest of its rows in the order the job recorded them (a job reading the same files in another order
 * makes a set of its own: no sharing, nothing wrong), and never changes; the last job using it takes it along.
 */

/** An input row as the set's key covers it: `[path (a pathParam), blake3, size, flags]`. */
export type InputRow = SQLQueryBindings[];

/**
 * The key of a set of input rows: SHA-256 over their JSON (unambiguous: a path that is not UTF-8, bound as bytes,
 * is an object there, never a string). JSON.stringify then one update: ~3 ms for 20,000 rows, against ~5 ms for
 * the same text built row by row and ~1.5 µs a row to insert them.
 */
export function inputSetKey(rows: readonly InputRow[]): string {
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(rows)).digest("hex");
}

/** The existing input set with this key, if any (inside the recording transaction). */
export function findInputSet(q: StoreDb, key: string): number | undefined {
  const r = q.sql("SELECT id FROM input_sets WHERE key = ?").get(key) as { id: number } | null;
  return r?.id;
}

/** Writes a new input set and its rows; returns its id. */
export function insertInputSet(q: StoreDb, key: string, rows: readonly InputRow[]): number {
  const { id } = q.sql("INSERT INTO input_sets (key) VALUES (?) RETURNING id").get(key) as { id: number };
  q.insertMany("INSERT OR FAIL INTO input_set_rows (set_id, path, blake3, size, flags)", rows, {
    tuple: "(?1, ?, ?, ?, ?)",
    width: 4,
    shared: [id],
  });
  return id;
}

/** Deletes an input set that no job names any more (after a job is deleted). */
export function dropUnusedInputSet(q: StoreDb, setId: number): void {
  if (q.sql("SELECT 1 FROM jobs WHERE input_set = ? LIMIT 1").get(setId) !== null) return;
  q.sql("DELETE FROM input_set_rows WHERE set_id = ?").run(setId);
  q.sql("DELETE FROM input_sets WHERE id = ?").run(setId);
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

/**
 * A job's io rows in the shape groupIo reads, for the jobs `where` names (a condition on `j`, binding ?1): outputs
 * from job_io, inputs from the job's input set.
 */
const IO_ROWS_OF = (where: string) => `
  SELECT j.uid AS job_uid, io.role, io.path, io.blake3, io.size, io.flags, io.prev_blake3, io.prev_mode
    FROM jobs j JOIN job_io io ON io.job_seq = j.seq WHERE ${where}
  UNION ALL
  SELECT j.uid, 'input', r.path, r.blake3, r.size, r.flags, NULL, NULL
    FROM jobs j JOIN input_set_rows r ON r.set_id = j.input_set WHERE ${where}
  ORDER BY path`;

/** All inputs and outputs of a session's jobs, keyed by job uid (one query). */
export function sessionIo(q: StoreDb, sessionId: number, blob: (b: string) => Uint8Array | undefined) {
  return groupIo(q.sql(IO_ROWS_OF("j.session_id = ?1")).all(sessionId) as Row[], blob);
}

export function jobIo(q: StoreDb, uid: string, blob: (b: string) => Uint8Array | undefined): JobIo {
  const rows = q.sql(IO_ROWS_OF("j.uid = ?1")).all(uid) as Row[];
  return groupIo(rows, blob).get(uid) ?? { inputs: [], outputs: [] };
}

/** A session's inputs and outputs by job uid, as dag and status read them; jobs of one input set share its list. */
export type SessionIo = Map<string, { inputs: readonly IoRecord[]; outputs: IoRecord[] }>;

/**
 * All inputs and outputs of a session's jobs, keyed by job uid, in no particular order. `inputsOf`: only these
 * jobs' inputs (with every job's outputs), as judging staleness needs: a superseded job's inputs decide nothing.
 */
export function sessionIoUnordered(q: StoreDb, sessionId: number, inputsOf?: ReadonlySet<string>): SessionIo {
  // Rows as arrays (.values()) and no ORDER BY: this is the hot path of dag/status on big sessions. When the
  // session holds most of the database (the usual case), one sequential scan beats an index lookup per job.
  type OutputValues = [number, string | Uint8Array, string | null, number | null, number][];
  type InputValues = [number, string | Uint8Array, string | null, number | null, number][];
  // The session's jobs, seq → uid and input set (rows name their job by seq).
  const jobRows = q.sql("SELECT seq, uid, input_set FROM jobs WHERE session_id = ?").values(sessionId) as [
    number,
    string,
    number | null,
  ][];
  const out: SessionIo = new Map();
  const bySeq = new Map<number, { inputs: readonly IoRecord[]; outputs: IoRecord[] }>();
  for (const [seq, uid] of jobRows) {
    const entry = { inputs: [], outputs: [] };
    out.set(uid, entry);
    bySeq.set(seq, entry);
  }
  const total = (q.sql("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
  const COLUMNS = "io.job_seq, io.path, io.blake3, io.size, io.flags";
  const addOutputs = (rows: OutputValues) => {
    for (const r of rows)
      bySeq.get(r[0])?.outputs.push({ path: pathFromRow(r[1]), blake3: r[2], size: r[3], flags: r[4] });
  };
  if (jobRows.length * 2 >= total) addOutputs(q.sql(`SELECT ${COLUMNS} FROM job_io io`).values() as OutputValues);
  else {
    const ofJob = q.sql(`SELECT ${COLUMNS} FROM job_io io WHERE io.job_seq = ? AND io.role = 'output'`);
    for (const [seq] of jobRows) addOutputs(ofJob.values(seq) as OutputValues);
  }

  // Inputs: each set read once, its list shared by the jobs that name it.
  const sets = new Map<number, IoRecord[]>();
  for (const [, uid, set] of jobRows) if (set !== null && (!inputsOf || inputsOf.has(uid))) sets.set(set, []);
  const addInputs = (rows: InputValues) => {
    for (const r of rows) sets.get(r[0])?.push({ path: pathFromRow(r[1]), blake3: r[2], size: r[3], flags: r[4] });
  };
  const INPUT_COLUMNS = "set_id, path, blake3, size, flags";
  const allSets = (q.sql("SELECT count(*) AS n FROM input_sets").get() as { n: number }).n;
  if (sets.size * 2 >= allSets && sets.size > 0)
    addInputs(q.sql(`SELECT ${INPUT_COLUMNS} FROM input_set_rows`).values() as InputValues);
  else {
    const ofSet = q.sql(`SELECT ${INPUT_COLUMNS} FROM input_set_rows WHERE set_id = ?`);
    for (const set of sets.keys()) addInputs(ofSet.values(set) as InputValues);
  }
  for (const [seq, uid, set] of jobRows) {
    const inputs = set === null ? undefined : sets.get(set);
    if (inputs && (!inputsOf || inputsOf.has(uid))) (bySeq.get(seq) as { inputs: readonly IoRecord[] }).inputs = inputs;
  }
  return out;
}

/*
 * Only outputs are indexed, by path and by digest (migration 5): a job's inputs are most of its rows, and two
 * more index entries each made recording a file-heavy job twice as slow. Lookups of inputs by path or by digest
 * scan the input sets' rows once per call (each shared set once), so the callers ask for many at once. The digest
 * index holds the first 16 hex digits (migration 7): a lookup names that prefix, exactly as the index does, and
 * then the whole digest.
 */
const LINK_COLUMNS = "j.uid AS job_uid, io.role, io.blake3, io.path, j.seq, j.session_id";

/** Input rows as links (`io` with LINK_COLUMNS' names): each row of a set once for every job naming the set. */
const INPUT_LINKS = `SELECT j.uid AS job_uid, 'input' AS role, io.blake3, io.path, j.seq, j.session_id
  FROM input_set_rows io JOIN jobs j ON j.input_set = io.set_id`;

/** The condition that finds the output rows of digest `?1` by their index (`io` being job_io). */
const OUTPUT_DIGEST_IS_1 = "substr(io.blake3, 1, 16) = substr(?1, 1, 16) AND io.blake3 = ?1 AND io.role = 'output'";

/** Links of one role whose `column` is one of `list` (a jsonList): by the outputs' index, or one pass over inputs. */
function linksIn(q: StoreDb, column: "path" | "blake3", list: string, role: "input" | "output"): Row[] {
  if (role === "input")
    return q.sql(`${INPUT_LINKS} WHERE io.${column} IN (SELECT value FROM json_each(?))`).all(list) as Row[];
  if (column === "blake3") {
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
       WHERE io.path IN (SELECT value FROM json_each(?)) AND io.role = 'output'`,
    )
    .all(list) as Row[];
}

/** Links of one role at one path (a name that is not UTF-8, stored as a BLOB; outputs by their index). */
function linksAt(q: StoreDb, path: string | Uint8Array, role: "input" | "output"): Row[] {
  if (role === "input") return q.sql(`${INPUT_LINKS} WHERE io.path = ?`).all(path) as Row[];
  return q
    .sql(
      `SELECT ${LINK_COLUMNS} FROM job_io io JOIN jobs j ON j.seq = io.job_seq
       WHERE io.path = ? AND io.role = 'output'`,
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
        role === "output"
          ? `SELECT j.*, io.role AS role, io.path AS io_path FROM job_io io JOIN jobs j ON j.seq = io.job_seq
             WHERE ${OUTPUT_DIGEST_IS_1}`
          : `SELECT j.*, 'input' AS role, io.path AS io_path FROM input_set_rows io
             JOIN jobs j ON j.input_set = io.set_id WHERE io.blake3 = ?1`,
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
