/**
 * Versioned schema of .roar/roar.db. Migration N brings `PRAGMA user_version` from N to N+1; never edit a
 * released migration, append a new one.
 */
/** The hash cache (store/hash-cache.ts): file identity and timestamps → digest. Also created on its own in tests. */
export const HASH_CACHE_DDL = `CREATE TABLE IF NOT EXISTS hash_cache (
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    blake3 TEXT NOT NULL,
    extra TEXT,                             -- JSON {algorithm: digest}
    hashed_at_ns INTEGER NOT NULL,
    PRIMARY KEY (dev, ino)
  )`;

export const MIGRATIONS: readonly string[] = [
  /* 0 → 1 */ `
  CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,            -- ms since epoch
    active INTEGER NOT NULL DEFAULT 0,
    git_repo TEXT,
    git_commit_start TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
  );
  CREATE UNIQUE INDEX sessions_one_active ON sessions(active) WHERE active = 1;

  CREATE TABLE jobs (
    uid TEXT PRIMARY KEY,                   -- 32 hex, random
    seq INTEGER NOT NULL UNIQUE,            -- global insertion order
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    step INTEGER NOT NULL,
    step_identity TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('run', 'build', 'get', 'put')),
    name TEXT,
    argv TEXT NOT NULL,                     -- JSON array, exactly as run
    cwd TEXT NOT NULL,                      -- relative to the repo root ('' = root)
    started_at INTEGER NOT NULL,            -- ms since epoch
    duration_ms INTEGER NOT NULL,
    trace_ms INTEGER,
    post_ms INTEGER,
    exit_code INTEGER,
    signal INTEGER,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'interrupted')),
    git TEXT NOT NULL DEFAULT '{}',
    trace TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX jobs_session_step ON jobs(session_id, step, seq);

  CREATE TABLE artifacts (
    blake3 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    first_seen_at INTEGER NOT NULL,
    first_seen_path TEXT
  );

  CREATE TABLE artifact_digests (
    blake3 TEXT NOT NULL REFERENCES artifacts(blake3) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (blake3, algorithm)
  );
  CREATE INDEX artifact_digests_digest ON artifact_digests(digest);

  CREATE TABLE job_io (
    job_uid TEXT NOT NULL REFERENCES jobs(uid) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('input', 'output')),
    path TEXT NOT NULL,                     -- absolute, or relative to the repo root when inside it
    blake3 TEXT REFERENCES artifacts(blake3),  -- NULL: deleted by the job
    size INTEGER,
    flags INTEGER NOT NULL DEFAULT 0,       -- see IoFlags
    PRIMARY KEY (job_uid, role, path)
  );
  CREATE INDEX job_io_blake3 ON job_io(blake3, role);

  ${HASH_CACHE_DDL};

  CREATE TABLE blobs (
    blake3 TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
  );

  CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
  );

  CREATE TABLE collection_members (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    blake3 TEXT NOT NULL REFERENCES artifacts(blake3),
    path TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
  );
  `,
  /* 1 → 2: lookups by path (roar show <path>, roar pop's "still used" check, lineage by path). */ `
  CREATE INDEX job_io_path ON job_io(path, role);
  `,
  /* 2 → 3: roar runs still tracing (their files are not a dirty tree for parallel runs). */ `
  CREATE TABLE runs_in_flight (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,                   -- the roar process
    pid_start INTEGER,                      -- its start time (/proc/<pid>/stat), to tell a reused pid
    started_at INTEGER NOT NULL,            -- ms since epoch
    trace_dir TEXT NOT NULL                 -- the run's private directory (events file and spool)
  );
  `,
  /* 3 → 4: what a file held before the job changed it (see IoFlags.EXISTED; roar pop restores it). */ `
  ALTER TABLE job_io ADD COLUMN prev_blake3 TEXT;  -- digest of the content before the job, when known
  ALTER TABLE job_io ADD COLUMN prev_mode INTEGER;  -- its st_mode then (file type and permissions)
  `,
  /* 4 → 5: only outputs are indexed by digest and path. Inputs are most of a job's rows, and their two index
     entries each made recording a file-heavy job twice as slow; lookups of inputs go by job (see job-io.ts). */ `
  DROP INDEX job_io_blake3;
  DROP INDEX job_io_path;
  CREATE INDEX job_io_output_blake3 ON job_io(blake3) WHERE role = 'output';
  CREATE INDEX job_io_output_path ON job_io(path) WHERE role = 'output';
  `,
  /* 5 → 6: io rows name their job by its integer seq, without a primary key over (job, role, path): the key's
     index of 32-hex uids and paths cost recording a 22,000-file job ~30 ms. Rows of a job (of one role: the
     outputs alone of superseded jobs) are found by the job_io_job index; one job's paths are unique by
     construction (the record step keys files by path). */ `
  CREATE TABLE job_io_v6 (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('input', 'output')),
    path TEXT NOT NULL,                     -- absolute, or relative to the repo root when inside it
    blake3 TEXT REFERENCES artifacts(blake3),  -- NULL: deleted by the job
    size INTEGER,
    flags INTEGER NOT NULL DEFAULT 0,       -- see IoFlags
    prev_blake3 TEXT,                       -- digest of the content before the job, when known
    prev_mode INTEGER                       -- its st_mode then (file type and permissions)
  );
  INSERT INTO job_io_v6 (job_seq, role, path, blake3, size, flags, prev_blake3, prev_mode)
    SELECT j.seq, io.role, io.path, io.blake3, io.size, io.flags, io.prev_blake3, io.prev_mode
    FROM job_io io JOIN jobs j ON j.uid = io.job_uid ORDER BY j.seq, io.role, io.path;
  DROP TABLE job_io;
  ALTER TABLE job_io_v6 RENAME TO job_io;
  CREATE INDEX job_io_job ON job_io(job_seq, role);
  CREATE INDEX job_io_output_blake3 ON job_io(blake3) WHERE role = 'output';
  CREATE INDEX job_io_output_path ON job_io(path) WHERE role = 'output';
  `,
  /* 6 → 7: outputs indexed by the first 16 hex digits of their digest, not all 64 (lookups compare that prefix,
     then the whole digest; see job-io.ts). A job writing 2,000 files puts a key on every page of this index once
     the store holds a few hundred thousand outputs, and each page is written again at commit: a third of the
     keys' bytes, a third of the pages (the io job's rows in a store of 100 such jobs: 87 → 65 ms). */ `
  DROP INDEX job_io_output_blake3;
  CREATE INDEX job_io_output_digest ON job_io(substr(blake3, 1, 16)) WHERE role = 'output';
  `,
  /* 7 → 8: the step of a job's identity (recording a job: is this the step of an earlier job?) by index. Found by a
     pass over the session's jobs before, that grew with its history: 2,000 jobs cost every roar run ~2.5 ms. */ `
  CREATE INDEX jobs_session_identity ON jobs(session_id, step_identity, seq);
  `,
  /* 8 → 9: a job's inputs are an input set that jobs reading the same content share (see job-io.ts): a re-run over
     an unchanged dataset of 20,000 files wrote 20,000 rows again (30–85 ms of recording it, ~1.5 MB of store). The
     inputs of each job recorded before become a set of its own (their key names the job: no later set matches).
     Edited once, before any release stopped at schema 9 (the next commit added 9 → 10): job_io's input rows are
     left for 9 → 10 to drop with the table, and the copy keeps the table's order instead of sorting it — a 62 MB
     store's upgrade 830 → 500 ms, the same store after 9 → 10. */ `
  CREATE TABLE input_sets (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE                -- digest of the set's rows (job-io.ts: ioSetKey)
  );
  CREATE TABLE input_set_rows (
    set_id INTEGER NOT NULL REFERENCES input_sets(id) ON DELETE CASCADE,
    path TEXT NOT NULL,                     -- absolute, or relative to the repo root when inside it
    blake3 TEXT REFERENCES artifacts(blake3),
    size INTEGER,
    flags INTEGER NOT NULL DEFAULT 0        -- see IoFlags
  );
  ALTER TABLE jobs ADD COLUMN input_set INTEGER REFERENCES input_sets(id);  -- NULL: the job read no files
  INSERT INTO input_sets (id, key) SELECT DISTINCT job_seq, 'rows of job ' || job_seq FROM job_io WHERE role = 'input';
  INSERT INTO input_set_rows (set_id, path, blake3, size, flags)
    SELECT job_seq, path, blake3, size, flags FROM job_io WHERE role = 'input';
  UPDATE jobs SET input_set = seq WHERE seq IN (SELECT id FROM input_sets);
  CREATE INDEX input_set_rows_set ON input_set_rows(set_id);
  CREATE INDEX jobs_input_set ON jobs(input_set);
  `,
  /* 9 → 10: a job's outputs are an output set too, shared by the jobs that wrote exactly those files with exactly
     that content (a re-run reproducing its outputs): each re-run put 2,000 keys on pages all over the outputs'
     path and digest indexes, so writing a job's rows grew with the store (15 → 34 ms over 100 io jobs). job_io
     is gone: its rows become a set for each job (their key names the job), indexed as they were. */ `
  CREATE TABLE output_sets (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE                -- digest of the set's rows (job-io.ts: ioSetKey)
  );
  CREATE TABLE output_set_rows (
    set_id INTEGER NOT NULL REFERENCES output_sets(id) ON DELETE CASCADE,
    path TEXT NOT NULL,                     -- absolute, or relative to the repo root when inside it
    blake3 TEXT REFERENCES artifacts(blake3),  -- NULL: deleted by the job
    size INTEGER,
    flags INTEGER NOT NULL DEFAULT 0,       -- see IoFlags
    prev_blake3 TEXT,                       -- digest of the content before the job, when known
    prev_mode INTEGER                       -- its st_mode then (file type and permissions)
  );
  ALTER TABLE jobs ADD COLUMN output_set INTEGER REFERENCES output_sets(id);  -- NULL: the job wrote no files
  INSERT INTO output_sets (id, key) SELECT DISTINCT job_seq, 'rows of job ' || job_seq FROM job_io WHERE role = 'output';
  INSERT INTO output_set_rows (set_id, path, blake3, size, flags, prev_blake3, prev_mode)
    SELECT job_seq, path, blake3, size, flags, prev_blake3, prev_mode FROM job_io WHERE role = 'output';
  UPDATE jobs SET output_set = seq WHERE seq IN (SELECT id FROM output_sets);
  DROP TABLE job_io;
  CREATE INDEX output_set_rows_set ON output_set_rows(set_id);
  CREATE INDEX output_set_rows_path ON output_set_rows(path);
  CREATE INDEX output_set_rows_digest ON output_set_rows(substr(blake3, 1, 16));
  CREATE INDEX jobs_output_set ON jobs(output_set);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** 'roar' in ASCII: marks a SQLite file as roar's (PRAGMA application_id). */
export const APPLICATION_ID = 0x726f6172;
