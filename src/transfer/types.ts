/** What the transfer back ends (S3 protocol, HTTPS) offer the get/put services. */
import { RoarError } from "../shared/errors.ts";

/** An object in a bucket. */
export interface RemoteObject {
  key: string;
  size: number;
  /** User metadata (`x-amz-meta-*` without the prefix), when the listing or HEAD carried it. */
  metadata: Record<string, string>;
}

/**
 * One response of a (possibly ranged) download: the body from `start` on. A server that ignores the range answers
 * from 0 (`start` = 0), and the download starts over.
 */
export interface RangeResponse {
  body: AsyncIterable<Uint8Array>;
  start: number;
  /** The whole object's size, when the server said. */
  total: number | null;
  /** ETag or Last-Modified: a resumed request asks for the same version (If-Range / If-Match). */
  validator: string | null;
  metadata: Record<string, string>;
  /** Whether the server accepts ranges, so a dropped connection can resume instead of starting over. */
  acceptsRanges: boolean;
}

export type RangeOpener = (offset: number, validator: string | null) => Promise<RangeResponse>;

/** A bucket of an S3-protocol service (S3 itself, or GCS through its XML API). */
export interface BucketStore {
  readonly scheme: "s3" | "gs";
  readonly bucket: string;
  /** Every object under `prefix` (keys ending in `/` — folder markers — left out), in key order. */
  list(prefix: string): Promise<RemoteObject[]>;
  /** The object at `key`, or null when there is none. */
  head(key: string): Promise<RemoteObject | null>;
  /** Opens the object's bytes from an offset (see RangeOpener). */
  opener(key: string): RangeOpener;
  /** Streams a file to `key` (multipart above the part size), with `metadata` as object metadata. */
  upload(path: string, key: string, metadata: Record<string, string>, onBytes: (bytes: number) => void): Promise<void>;
}

/** A transfer failure; `retryable` ones (dropped connections, 5xx) are retried, resuming where possible. */
export class TransferError extends RoarError {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "TransferError";
  }
}
