/**
 * `gs://` through GCS's S3-compatible XML API (https://storage.googleapis.com), with the same SDK as `s3://`:
 * an HMAC key (GCS_ACCESS_KEY_ID / GCS_SECRET_ACCESS_KEY, made in the Cloud Console's interoperability settings)
 * signs requests with SigV4; without one, an OAuth access token (GOOGLE_OAUTH_ACCESS_TOKEN, e.g. from
 * `gcloud auth print-access-token`) is sent as a bearer token. GCS_ENDPOINT_URL overrides the endpoint.
 */
import { RoarError } from "../shared/errors.ts";
import type { S3Settings } from "./s3.ts";

export const GCS_ENDPOINT = "https://storage.googleapis.com";

export function gcsSettings(env: Record<string, string | undefined>): S3Settings {
  const endpoint = env.GCS_ENDPOINT_URL || GCS_ENDPOINT;
  const hint =
    "no GCS credentials found: set GCS_ACCESS_KEY_ID and GCS_SECRET_ACCESS_KEY (an HMAC key) or GOOGLE_OAUTH_ACCESS_TOKEN";
  const base = {
    endpoint,
    forcePathStyle: true,
    // GCS ignores the region, but SigV4 needs one; "auto" is what GCS documents.
    region: "auto",
    checksumsWhenRequired: true,
    credentialsHint: hint,
  };
  const id = env.GCS_ACCESS_KEY_ID;
  const secret = env.GCS_SECRET_ACCESS_KEY;
  if (id && secret) return { ...base, credentials: { accessKeyId: id, secretAccessKey: secret } };
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (token) return { ...base, bearerToken: token };
  throw new RoarError(hint);
}
