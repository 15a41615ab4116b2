/** A fresh store in a temp project, and jobs to put in it, for the store's unit tests. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { NewJob } from "../../src/core/types.ts";
import { projectAt } from "../../src/store/project.ts";
import { RoarStore } from "../../src/store/store.ts";
import { tempDir } from "./cli.ts";

export function openTempStore(): { store: RoarStore; dbPath: string } {
  const root = tempDir();
  mkdirSync(join(root, ".roar"));
  const project = projectAt(root);
  return { store: RoarStore.open(project, { create: true }), dbPath: project.dbPath };
}

/** A finished run job of step 1 named by `tag` (`python3 <tag>.py`), with no files unless given. */
export function testJob(sessionId: number, tag: string, fields: Partial<NewJob> = {}): NewJob {
  return {
    sessionId,
    step: 1,
    stepIdentity: `id-${tag}`,
    kind: "run",
    name: null,
    argv: ["python3", `${tag}.py`],
    cwd: "",
    startedAt: Date.now(),
    durationMs: 1,
    traceMs: 1,
    postMs: 1,
    exitCode: 0,
    signal: null,
    status: "ok",
    git: {},
    trace: {},
    metadata: {},
    inputs: [],
    outputs: [],
    ...fields,
  };
}

/** The columns of a job_io row after its job's (schemas 1–8). */
const IO_ROW_COLUMNS = `
    role TEXT NOT NULL CHECK (role IN ('input', 'output')),
    path TEXT NOT NULL,
    blake3 TEXT REFERENCES artifacts(blake3),
    size INTEGER,
    flags INTEGER NOT NULL DEFAULT 0,
    prev_blake3 TEXT,
    prev_mode INTEGER`;

/**
 * SQL that undoes migrations 8 → 9 and 9 → 10: every job's inputs and outputs rows of job_io again, no sets (a
 * store an older roar left; set user_version yourself).
 */
export const SETS_UNDONE = `
  CREATE TABLE job_io (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,${IO_ROW_COLUMNS}
  );
  INSERT INTO job_io (job_seq, role, path, blake3, size, flags)
    SELECT j.seq, 'input', r.path, r.blake3, r.size, r.flags FROM jobs j JOIN input_set_rows r ON r.set_id = j.input_set;
  INSERT INTO job_io (job_seq, role, path, blake3, size, flags, prev_blake3, prev_mode)
    SELECT j.seq, 'output', r.path, r.blake3, r.size, r.flags, r.prev_blake3, r.prev_mode
    FROM jobs j JOIN output_set_rows r ON r.set_id = j.output_set;
  CREATE INDEX job_io_job ON job_io(job_seq, role);
  CREATE INDEX job_io_output_digest ON job_io(substr(blake3, 1, 16)) WHERE role = 'output';
  CREATE INDEX job_io_output_path ON job_io(path) WHERE role = 'output';
  DROP INDEX jobs_input_set;
  DROP INDEX jobs_output_set;
  ALTER TABLE jobs DROP COLUMN input_set;
  ALTER TABLE jobs DROP COLUMN output_set;
  DROP TABLE input_set_rows;
  DROP TABLE input_sets;
  DROP TABLE output_set_rows;
  DROP TABLE output_sets;`;

/**
 * SQL that turns a store's job_io back into the layout of schema 5 and before (rows keyed by job uid, a primary key
 * over job, role and path; no indexes): for tests that migrate a store an older roar left.
 */
export const JOB_IO_BY_UID = `${SETS_UNDONE}
  CREATE TABLE job_io_old (
    job_uid TEXT NOT NULL REFERENCES jobs(uid) ON DELETE CASCADE,${IO_ROW_COLUMNS},
    PRIMARY KEY (job_uid, role, path)
  );
  INSERT INTO job_io_old SELECT j.uid, io.role, io.path, io.blake3, io.size, io.flags, io.prev_blake3, io.prev_mode
    FROM job_io io JOIN jobs j ON j.seq = io.job_seq;
  DROP TABLE job_io;
  ALTER TABLE job_io_old RENAME TO job_io;`;
