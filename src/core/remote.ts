/**
 * Remote locations (`s3://bucket/key`, `gs://bucket/key`, `https://host/path`): parsing, the credential-free form
 * roar stores and prints, object keys for uploads, and the composite digest of a directory. Pure.
 */

import { RoarError, UsageError } from "../shared/errors.ts";
import { looksSecretName } from "./secret-patterns.ts";

export type RemoteScheme = "s3" | "gs" | "https";

export interface BucketUrl {
  scheme: "s3" | "gs";
  bucket: string;
  /** The object key or prefix ('' = the whole bucket). */
  key: string;
  /** A trailing `/` (or an empty key): a prefix, every object under it. */
  isPrefix: boolean;
}

export interface HttpsUrl {
  scheme: "https";
  /** The URL to fetch, credentials included when the user gave them. */
  url: URL;
}

export type RemoteUrl = BucketUrl | HttpsUrl;

const REMOTE = /^(s3|gs|https):\/\//i;
/** S3 and GCS bucket names: lowercase letters, digits, dots, hyphens (and `_` on GCS), 3–222 characters. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/;

/** True for text naming a remote location roar can transfer (`s3://`, `gs://`, `https://`). */
export function isRemoteUrl(text: string): boolean {
  return REMOTE.test(text);
}

export function parseRemoteUrl(text: string): RemoteUrl {
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === "s3" || scheme === "gs") {
    const rest = text.slice(scheme.length + 3);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? "" : rest.slice(slash + 1);
    if (!BUCKET.test(bucket)) throw new UsageError(`not a valid bucket name in ${scheme}:// URL: '${bucket}'`);
    return { scheme, bucket, key, isPrefix: key === "" || key.endsWith("/") };
  }
  if (scheme === "https") {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`not a valid URL: ${text}`);
    }
    return { scheme, url };
  }
  if (scheme === "http") throw new UsageError("plain http:// is not supported: use https://");
  throw new UsageError(
    scheme ? `unsupported scheme '${scheme}://': use s3://, gs:// or https://` : `not a remote URL: ${text}`,
  );
}

/** Query parameters that carry credentials in pre-signed URLs, besides names that look secret. */
const SIGNING_PARAMS = new Set([
  "signature",
  "sig",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "x-goog-signature",
  "x-goog-credential",
  "awsaccesskeyid",
  "googleaccessid",
  "access_token",
]);

function isSecretParam(name: string): boolean {
  return SIGNING_PARAMS.has(name.toLowerCase()) || looksSecretName(name);
}

/**
 * The form of a remote URL roar stores and prints: no `user:password@`, and no query parameter that carries a
 * credential (pre-signed URL signatures, tokens, keys). Bucket URLs cannot hold credentials and stay as given.
 */
export function publicUrl(text: string): string {
  if (!/^https?:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  url.username = "";
  url.password = "";
  for (const name of [...url.searchParams.keys()]) if (isSecretParam(name)) url.searchParams.delete(name);
  return url.toString();
}

/** `s3://bucket/key` of an object. */
export function objectUrl(scheme: "s3" | "gs", bucket: string, key: string): string {
  return `${scheme}://${bucket}/${key}`;
}

/**
 * A relative object key (or file path under a prefix) that stays inside its destination: no empty, `.` or `..`
 * components and no leading `/`. Keys that are not (`a/../../etc/passwd`) are refused, never written.
 */
export function safeRelativePath(relative: string, where: string): string {
  const parts = relative.split("/");
  if (relative === "" || relative.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new RoarError(`refusing unsafe object name '${relative}' under ${where}`);
  return relative;
}

/**
 * The key an upload lands at. A destination ending in `/` (or naming only a bucket) is a prefix: the file's
 * relative name is appended. A single file to a destination without a trailing `/` is uploaded to exactly that key.
 */
export function uploadKey(dest: BucketUrl, relative: string, single: boolean): string {
  if (single && !dest.isPrefix) return dest.key;
  const prefix = dest.key === "" || dest.key.endsWith("/") ? dest.key : `${dest.key}/`;
  return prefix + relative;
}

/**
 * What the composite digest of a directory is computed over: one line `<relative path>\0<blake3 hex>\n` per
 * file, sorted by path (code-unit order, the same on every machine); the digest is the BLAKE3 of these bytes.
 * Two directories with the same relative names and contents have the same composite digest, wherever they are.
 */
export function compositeListing(members: readonly { path: string; blake3: string }[]): string {
  const sorted = [...members].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sorted.map((m) => `${m.path}\0${m.blake3}\n`).join("");
}
