/** What a job did to a file: the bits of job_io.flags (stored as they are: never renumber one). */
export const IoFlags = {
  /** The file was deleted by the job (blake3 is NULL). */
  DELETED: 1,
  /** An input whose size/mtime at the end differs from what the tracer saw at open. */
  CHANGED_DURING_RUN: 2,
  /** Both read and written by the job. */
  READ_WRITE: 4,
  /** Created by the job (did not exist before); its content was made by the job. */
  CREATED: 8,
  /** Existed before the job (changed, replaced or deleted by it); `prev_blake3` has its earlier content. */
  EXISTED: 16,
  /** The earlier content's bytes are kept in .roar/objects (reversible.enabled). */
  PREV_KEPT: 32,
  /** A remote object (`s3://…`, `gs://…`) a put job uploaded, not a file: never on disk, never a local producer. */
  REMOTE: 64,
  /** A directory as a whole: `blake3` is its composite digest (see core/remote.ts compositeListing). */
  COLLECTION: 128,
  /**
   * A symbolic link the job made: its content is the link's target text (blake3 and size are those of the
   * target bytes, which are kept in `blobs` under that digest), never what the link points to.
   */
  SYMLINK: 256,
  /** Written by a process that was killed by a signal or crashed: its content may be incomplete. */
  WRITER_KILLED: 512,
} as const;
