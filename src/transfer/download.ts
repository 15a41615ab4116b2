/**
 * One download into a temporary file, streamed (never the whole object in memory). A connection that drops (an
 * error mid-body, or fewer bytes than announced) is retried: from where it stopped when the server honours ranges,
 * from the start otherwise. The caller owns the temporary file: it renames it into place or removes it.
 */
import { type FileHandle, open } from "node:fs/promises";
import { fsErrorReason } from "../shared/errors.ts";
import { type RangeOpener, TransferError } from "./types.ts";

export interface DownloadOptions {
  /** The remote location, for messages (credential-free). */
  where: string;
  attempts?: number;
  /** Delay before retry n is n × this. */
  retryDelayMs?: number;
  /** Bytes written (negative when a restart discards what was written). */
  onBytes?: (delta: number) => void;
}

export interface Downloaded {
  size: number;
  metadata: Record<string, string>;
  /** Times a dropped download continued from where it stopped. */
  resumed: number;
  /** Times it had to start over (the server ignored the range). */
  restarted: number;
}

export const DOWNLOAD_ATTEMPTS = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes a whole chunk at `position`; a failing disk (full, read-only) is final, not a reason to retry. */
async function writeAt(file: FileHandle, chunk: Uint8Array, position: number, path: string): Promise<void> {
  let written = 0;
  try {
    while (written < chunk.length) {
      const { bytesWritten } = await file.write(chunk, written, chunk.length - written, position + written);
      written += bytesWritten;
    }
  } catch (error) {
    const reason = fsErrorReason(error) ?? (error instanceof Error ? error.message : String(error));
    throw new TransferError(`cannot write ${path}: ${reason}`, false);
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof TransferError ? error.retryable : true;
}

export async function downloadToFile(
  temp: string,
  openRange: RangeOpener,
  options: DownloadOptions,
): Promise<Downloaded> {
  const attempts = options.attempts ?? DOWNLOAD_ATTEMPTS;
  const delay = options.retryDelayMs ?? 250;
  // Exclusive create: a temporary name that exists already is never written through.
  let file: FileHandle;
  try {
    file = await open(temp, "wx", 0o666);
  } catch (error) {
    const reason = fsErrorReason(error) ?? (error instanceof Error ? error.message : String(error));
    throw new TransferError(`cannot write ${temp}: ${reason}`, false);
  }
  let offset = 0;
  let validator: string | null = null;
  let metadata: Record<string, string> = {};
  let resumed = 0;
  let restarted = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await openRange(offset, validator);
        if (r.start !== offset) {
          if (r.start !== 0) throw new TransferError(`${options.where}: server answered from byte ${r.start}`, false);
          await file.truncate(0);
          options.onBytes?.(-offset);
          offset = 0;
          restarted++;
        } else if (offset > 0) resumed++;
        validator = r.validator ?? validator;
        metadata = r.metadata;
        const chunks = r.body[Symbol.asyncIterator]();
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await chunks.next();
          } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            throw new TransferError(`${options.where}: connection lost after ${offset} bytes (${reason})`, true);
          }
          if (next.done) break;
          await writeAt(file, next.value, offset, temp);
          offset += next.value.length;
          options.onBytes?.(next.value.length);
        }
        if (r.total !== null && offset < r.total)
          throw new TransferError(`${options.where}: connection closed after ${offset} of ${r.total} bytes`, true);
        if (r.total !== null && offset > r.total)
          throw new TransferError(`${options.where}: received ${offset} bytes, ${r.total} announced`, false);
        // On disk before the rename makes the file visible under its name.
        await file.datasync();
        return { size: offset, metadata, resumed, restarted };
      } catch (error) {
        if (!isRetryable(error) || attempt >= attempts) throw error;
        await sleep(delay * attempt);
      }
    }
  } finally {
    await file.close();
  }
}
