/**
 * What each job read and wrote, and the links between jobs and artifacts it makes: its inputs and its outputs are
 * each a set of rows (`input_sets`/`input_set_rows`, `output_sets`/`output_set_rows`) that jobs share.
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

/*
 * A job's inputs and its outputs are each a set of rows (migrations 8 → 9 and 9 → 10), shared by every job that
 * read (or wrote) exactly those files with exactly that content: a re-run over an unchanged dataset of 20,000 files
 * adds one reference, not 20,000 rows (recording the io job: insert phase 30–85 → ~7 ms, and the store stops
 * growing by the dataset's size a run), and a re-run that reproduces its outputs puts no new keys in the outputs'
 * indexes. A set is named by a digest of its rows in the order the job recorded them (a job reading the same files
 * in another order makes a set of its own: no sharing, nothing wrong), and never changes; the last job naming it
 * takes it along.
 */

export type IoRole = "input" | "output";

/** A set's row as its key covers it: `[path (a pathParam), blake3, size, flags]`, outputs maybe `prev_blake3,
 * prev_mode` too (when the content before the job is known). */
export type SetRow = SQLQueryBindings[];

/** Each role's tables and the jobs column naming a job's set. */
const SET_TABLES = {
  input: { sets: "input_sets", rows: "input_set_rows", column: "input_set" },
  output: { sets: "output_sets", rows: "output_set_rows", column: "output_set" },
} as const;

/** The existing set of `role` with this key, if any (inside the recording transaction). */
export function findIoSet(q: StoreDb, role: IoRole, key: string): number | undefined {
  const r = q.sql(`SELECT id FROM ${SET_TABLES[role].sets} WHERE key = ?`).get(key) as { id: number } | null;
  return r?.id;
}

/**
 * Writes a new set and its rows; returns its id. Rows of 4 values and rows of 6 go by separate statements, the
 * set's id bound once a statement: most rows bind 4 values instead of 7.
 */
export function insertIoSet(q: StoreDb, role: IoRole, key: string, rows: readonly SetRow[]): number {
  const { sets, rows: table } = SET_TABLES[role];
  const { id } = q.sql(`INSERT INTO ${sets} (key) VALUES (?) RETURNING id`).get(key) as { id: number };
  const plain = rows.filter((r) => r.length === 4);
  const withPrior = plain.length === rows.length ? [] : rows.filter((r) => r.length !== 4);
  q.insertMany(`INSERT OR FAIL INTO ${table} (set_id, path, blake3, size, flags)`, plain, {
    tuple: "(?1, ?, ?, ?, ?)",
    width: 4,
    shared: [id],
  });
  q.insertMany(`INSERT OR FAIL INTO ${table} (set_id, path, blake3, size, flags, prev_blake3, prev_mode)`, withPrior, {
    tuple: "(?1, ?, ?, ?, ?, ?, ?)",
    width: 6,
    shared: [id],
  });
  return id;
}

/** Deletes a set that no job names any more (after a job is deleted). */
export function dropUnusedIoSet(q: StoreDb, role: IoRole, setId: number): void {
  const { sets, rows, column } = SET_TABLES[role];
  if (q.sql(`SELECT 1 FROM jobs WHERE ${column} = ? LIMIT 1`).get(setId) !== null) return;
  q.sql(`DELETE FROM ${rows} WHERE set_id = ?`).run(setId);
  q.sql(`DELETE FROM ${sets} WHERE id = ?`).run(setId);
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

/** The io rows of the jobs `where` names (a condition on `j`, binding ?1), in the shape groupIo reads. */
const IO_ROWS_OF = (where: string) => `
  SELECT j.uid AS job_uid, 'output' AS role, io.path, io.blake3, io.size, io.flags, io.prev_blake3, io.prev_mode
    FROM jobs j JOIN output_set_rows io ON io.set_id = j.output_set WHERE ${where}
  UNION ALL
  SELECT j.uid, 'input', io.path, io.blake3, io.size, io.flags, NULL, NULL
    FROM jobs j JOIN input_set_rows io ON io.set_id = j.input_set WHERE ${where}
  ORDER BY path`;

/** All inputs and outputs of a session's jobs, keyed by job uid (one query). */
export function sessionIo(q: StoreDb, sessionId: number, blob: (b: string) => Uint8Array | undefined) {
  return groupIo(q.sql(IO_ROWS_OF("j.session_id = ?1")).all(sessionId) as Row[], blob);
}

export function jobIo(q: StoreDb, uid: string, blob: (b: string) => Uint8Array | undefined): JobIo {
  const rows = q.sql(IO_ROWS_OF("j.uid = ?1")).all(uid) as Row[];
  return groupIo(rows, blob).get(uid) ?? { inputs: [], outputs: [] };
}

/** A session's inputs and outputs by job uid, as dag and status read them; jobs of one set share its list. */
export type SessionIo = Map<string, { inputs: readonly IoRecord[]; outputs: readonly IoRecord[] }>;

/**
 * All inputs and outputs of a session's jobs, keyed by job uid, in no particular order. `inputsOf`: only these
 * jobs' inputs (with every job's outputs), as judging staleness needs: a superseded job's inputs decide nothing.
 */
export function sessionIoUnordered(q: StoreDb, sessionId: number, inputsOf?: ReadonlySet<string>): SessionIo {
  // The session's jobs and their sets.
  const jobRows = q.sql("SELECT uid, input_set, output_set FROM jobs WHERE session_id = ?").values(sessionId) as [
    string,
    number | null,
    number | null,
  ][];
  const inputs = setsOf(
    q,
    "input",
    jobRows.flatMap(([uid, set]) => (set !== null && (!inputsOf || inputsOf.has(uid)) ? [set] : [])),
  );
  const outputs = setsOf(
    q,
    "output",
    jobRows.flatMap(([, , set]) => (set === null ? [] : [set])),
  );
  const out: SessionIo = new Map();
  for (const [uid, inputSet, outputSet] of jobRows) {
    out.set(uid, {
      inputs: (inputSet !== null && (!inputsOf || inputsOf.has(uid)) && inputs.get(inputSet)) || [],
      outputs: (outputSet !== null && outputs.get(outputSet)) || [],
    });
  }
  return out;
}

/**
 * The rows of these sets of one role, each set read once. Rows as arrays (.values()): this is the hot path of
 * dag/status on big sessions; when the sets are most of the table (the usual case), one sequential scan beats an
 * index lookup per set.
 */
function setsOf(q: StoreDb, role: IoRole, ids: readonly number[]): Map<number, IoRecord[]> {
  type Values = [number, string | Uint8Array, string | null, number | null, number][];
  const { sets: setsTable, rows: table } = SET_TABLES[role];
  const sets = new Map<number, IoRecord[]>();
  for (const id of ids) if (!sets.has(id)) sets.set(id, []);
  if (sets.size === 0) return sets;
  const add = (rows: Values) => {
    for (const r of rows) sets.get(r[0])?.push({ path: pathFromRow(r[1]), blake3: r[2], size: r[3], flags: r[4] });
  };
  const COLUMNS = "set_id, path, blake3, size, flags";
  const total = (q.sql(`SELECT count(*) AS n FROM ${setsTable}`).get() as { n: number }).n;
  if (sets.size * 2 >= total) add(q.sql(`SELECT ${COLUMNS} FROM ${table}`).values() as Values);
  else {
    const ofSet = q.sql(`SELECT ${COLUMNS} FROM ${table} WHERE set_id = ?`);
    for (const id of sets.keys()) add(ofSet.values(id) as Values);
  }
  return sets;
}

/*
 * Only outputs are indexed, by path and by digest (migration 5): a job's inputs are most of its rows, and two
 * more index entries each made recording a file-heavy job twice as slow. Lookups of inputs by path or by digest
 * scan the input sets' rows once per call (each shared set once), so the callers ask for many at once. The digest
 * index holds the first 16 hex digits (migration 7): a lookup names that prefix, exactly as the index does, and
 * then the whole digest.
 */

/** A role's rows as links (`io`, joined to each job naming their set: `j`), with the columns toLink reads. */
const LINKS = (role: IoRole) => `SELECT j.uid AS job_uid, '${role}' AS role, io.blake3, io.path, j.seq, j.session_id
  FROM ${SET_TABLES[role].rows} io JOIN jobs j ON j.${SET_TABLES[role].column} = io.set_id`;

/** The condition that finds the output rows of digest `?1` by their index (`io` being output_set_rows). */
const OUTPUT_DIGEST_IS_1 = "substr(io.blake3, 1, 16) = substr(?1, 1, 16) AND io.blake3 = ?1";

/** Links of one role whose `column` is one of `list` (a jsonList): by the outputs' indexes, or one pass over inputs. */
function linksIn(q: StoreDb, column: "path" | "blake3", list: string, role: IoRole): Row[] {
  if (column === "blake3" && role === "output") {
    return q
      .sql(
        `SELECT j.uid AS job_uid, 'output' AS role, io.blake3, io.path, j.seq, j.session_id FROM json_each(?) d
         JOIN output_set_rows io ON substr(io.blake3, 1, 16) = substr(d.value, 1, 16) AND io.blake3 = d.value
         JOIN jobs j ON j.output_set = io.set_id`,
      )
      .all(list) as Row[];
  }
  return q.sql(`${LINKS(role)} WHERE io.${column} IN (SELECT value FROM json_each(?))`).all(list) as Row[];
}

/** Links of one role at one path (a name that is not UTF-8, stored as a BLOB; outputs by their index). */
function linksAt(q: StoreDb, path: string | Uint8Array, role: IoRole): Row[] {
  return q.sql(`${LINKS(role)} WHERE io.path = ?`).all(path) as Row[];
}

const byRole = (a: Row, b: Row) => ((a.role as string) < (b.role as string) ? -1 : a.role === b.role ? 0 : 1);
const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Jobs linked to an artifact, with the role and path of each link, in job order. */
export function artifactLinks(q: StoreDb, blake3: string): { job: JobRow; role: IoRole; path: string }[] {
  const select = (role: IoRole) =>
    q
      .sql(
        `SELECT j.*, '${role}' AS role, io.path AS io_path FROM ${SET_TABLES[role].rows} io
         JOIN jobs j ON j.${SET_TABLES[role].column} = io.set_id
         WHERE ${role === "output" ? OUTPUT_DIGEST_IS_1 : "io.blake3 = ?1"}`,
      )
      .all(blake3) as Row[];
  const rows = [...select("output"), ...select("input")].sort(
    (a, b) => (a.seq as number) - (b.seq as number) || byRole(a, b),
  );
  return rows.map((r) => ({ job: toJob(r), role: r.role as IoRole, path: pathFromRow(r.io_path) }));
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
  const rows = q
    .sql(
      `SELECT DISTINCT j.uid AS job_uid FROM output_set_rows io JOIN jobs j ON j.output_set = io.set_id
       WHERE ${OUTPUT_DIGEST_IS_1}${replayable ? " AND j.kind IN ('run', 'build')" : ""} ORDER BY j.seq`,
    )
    .all(blake3);
  return (rows as { job_uid: string }[]).map((r) => r.job_uid);
}

/*
 * A set's rows exist only while some job names the set (dropUnusedIoSet): the row is enough to say that a job of
 * the project wrote it.
 */

/** Which of `paths` some recorded job wrote (one query; a path that is not UTF-8 is looked up on its own). */
export function recordedOutputsAmong(q: StoreDb, paths: readonly string[]): Set<string> {
  const text = paths.filter((p) => typeof pathParam(p) === "string");
  const written = new Set<string>();
  if (text.length > 0) {
    const rows = q
      .sql("SELECT DISTINCT path FROM output_set_rows WHERE path IN (SELECT value FROM json_each(?))")
      .values(jsonList(text)) as [string][];
    for (const [path] of rows) written.add(path);
  }
  const one = q.sql("SELECT 1 FROM output_set_rows WHERE path = ? LIMIT 1");
  const out = new Set<string>();
  for (const p of paths) {
    const param = pathParam(p);
    if (typeof param === "string" ? written.has(p) : one.get(param) !== null) out.add(p);
  }
  return out;
}

/** Whether some job of this project wrote this content (an output, under any name). */
export function isRecordedOutput(q: StoreDb, blake3: string): boolean {
  return q.sql(`SELECT 1 FROM output_set_rows io WHERE ${OUTPUT_DIGEST_IS_1} LIMIT 1`).get(blake3) !== null;
}

/** The digest last recorded for an output at `path` with this size, if any (the newest job's). */
export function lastOutputDigest(q: StoreDb, path: string, size: number): string | undefined {
  const r = q
    .sql(
      `SELECT io.blake3 FROM output_set_rows io JOIN jobs j ON j.output_set = io.set_id
       WHERE io.path = ? AND io.size = ? AND io.blake3 IS NOT NULL ORDER BY j.seq DESC LIMIT 1`,
    )
    .get(pathParam(path), size) as { blake3: string } | null;
  return r?.blake3;
}
