/**
 * S3-protocol buckets through the AWS SDK v3: `s3://` with the SDK's standard credential chain (environment,
 * ~/.aws files, SSO, instance roles), `AWS_REGION` / `AWS_ENDPOINT_URL(_S3)` honoured; `gs://` with the settings
 * from gcs.ts. Downloads are ranged GETs (resumable, see download.ts); uploads stream through lib-storage
 * (multipart above PART_SIZE, QUEUE_SIZE parts in flight), so memory stays bounded whatever the file size.
 */
import { createReadStream } from "node:fs";
import type { ListObjectsV2CommandOutput, S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { objectUrl } from "../core/remote.ts";
import { type BucketStore, type RangeOpener, type RemoteObject, TransferError } from "./types.ts";

/** Parts of a multipart upload (S3's minimum is 5 MiB). */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once per file: memory held by an upload is about PART_SIZE × QUEUE_SIZE. */
export const QUEUE_SIZE = 4;

export interface S3Settings {
  endpoint?: string;
  forcePathStyle: boolean;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** GCS with an OAuth access token: sent as `Authorization: Bearer` instead of a SigV4 signature. */
  bearerToken?: string;
  /** GCS's XML API takes no aws-chunked trailing checksums: only send checksums an operation requires. */
  checksumsWhenRequired: boolean;
  /** What to tell the user when no credentials are found. */
  credentialsHint: string;
}

type Env = Record<string, string | undefined>;

/** `s3://` settings from the environment (the SDK reads its own variables and files too). */
export function s3Settings(env: Env): S3Settings {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    endpoint,
    // A custom endpoint (MinIO, a local server, an IP address) rarely resolves bucket subdomains.
    forcePathStyle: endpoint !== undefined,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
    checksumsWhenRequired: false,
    credentialsHint:
      "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or ~/.aws/credentials",
  };
}

/** Replaces the SigV4 signature with a bearer token (GCS OAuth), and reads GCS's own metadata headers. */
function useBearerToken(client: S3Client, token: string): void {
  type Middleware = Parameters<typeof client.middlewareStack.addRelativeTo>[0];
  const bearer = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const request = (args as { request?: { headers?: Record<string, string> } }).request;
    const headers = request?.headers;
    if (headers) {
      for (const name of Object.keys(headers)) {
        const lower = name.toLowerCase();
        if (lower.startsWith("x-amz-meta-")) {
          headers[`x-goog-meta-${lower.slice("x-amz-meta-".length)}`] = headers[name] as string;
          delete headers[name];
        } else if (lower === "authorization" || lower.startsWith("x-amz-")) delete headers[name];
      }
      headers.authorization = `Bearer ${token}`;
    }
    const result = (await next(args)) as { response?: { headers?: Record<string, string> } };
    const responseHeaders = result.response?.headers;
    if (responseHeaders) {
      for (const [name, value] of Object.entries(responseHeaders)) {
        if (name.toLowerCase().startsWith("x-goog-meta-"))
          responseHeaders[`x-amz-meta-${name.slice("x-goog-meta-".length)}`] = value;
      }
    }
    return result;
  };
  client.middlewareStack.addRelativeTo(bearer as unknown as Middleware, {
    relation: "after",
    toMiddleware: "httpSigningMiddleware",
    name: "roarBearerToken",
    override: true,
  });
}

type AwsSdk = typeof import("./aws-sdk.ts");

async function makeClient(settings: S3Settings, { S3Client }: AwsSdk): Promise<S3Client> {
  const config: S3ClientConfig = {
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: 15_000, requestTimeout: 120_000 },
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.credentials) config.credentials = settings.credentials;
  if (settings.bearerToken) config.credentials = { accessKeyId: "bearer", secretAccessKey: "bearer" };
  if (settings.checksumsWhenRequired) {
    config.requestChecksumCalculation = "WHEN_REQUIRED";
    config.responseChecksumValidation = "WHEN_REQUIRED";
  }
  if (settings.region) config.region = settings.region;
  let client = new S3Client(config);
  if (!settings.region) {
    // No region in the environment or ~/.aws/config: us-east-1, and S3's redirects find the bucket's own.
    try {
      await client.config.region();
    } catch {
      client.destroy();
      client = new S3Client({ ...config, region: "us-east-1" });
    }
  }
  if (settings.bearerToken) useBearerToken(client, settings.bearerToken);
  return client;
}

/** The SDK's error as one line without request details; credentials never appear in SDK error messages. */
export function describeS3Error(error: unknown, where: string, settings: S3Settings): TransferError {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === "CredentialsProviderError" || /Could not load credentials/i.test(e.message ?? ""))
    return new TransferError(`${where}: ${settings.credentialsHint}`, false);
  if (status === 404 || e.name === "NoSuchKey" || e.name === "NotFound")
    return new TransferError(`${where}: no such object`, false);
  if (e.name === "NoSuchBucket") return new TransferError(`${where}: no such bucket`, false);
  if (status === 403 || e.name === "AccessDenied" || e.name === "InvalidAccessKeyId")
    return new TransferError(`${where}: access denied (${e.name ?? status})`, false);
  const code = e.code ?? e.name ?? "error";
  const detail = (e.message ?? String(error)).split("\n")[0];
  const retryable = status === undefined || status >= 500;
  return new TransferError(`${where}: ${detail}${status ? ` (${code}, HTTP ${status})` : ` (${code})`}`, retryable);
}

function lowerKeys(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) out[k.toLowerCase()] = v;
  return out;
}

export async function openBucket(scheme: "s3" | "gs", bucket: string, settings: S3Settings): Promise<BucketStore> {
  const sdk: AwsSdk = await import("./aws-sdk.ts");
  const { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, Upload } = sdk;
  const client = await makeClient(settings, sdk);
  const where = (key: string) => objectUrl(scheme, bucket, key);
  return {
    scheme,
    bucket,
    async list(prefix: string): Promise<RemoteObject[]> {
      const out: RemoteObject[] = [];
      let token: string | undefined;
      do {
        let page: ListObjectsV2CommandOutput;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
          );
        } catch (error) {
          throw describeS3Error(error, where(prefix), settings);
        }
        for (const o of page.Contents ?? []) {
          if (!o.Key || o.Key.endsWith("/")) continue;
          out.push({ key: o.Key, size: o.Size ?? 0, metadata: {} });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async head(key: string): Promise<RemoteObject | null> {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { key, size: r.ContentLength ?? 0, metadata: lowerKeys(r.Metadata) };
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.$metadata?.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey") return null;
        throw describeS3Error(error, where(key), settings);
      }
    },
    opener(key: string): RangeOpener {
      return async (offset, validator) => {
        try {
          const r = await client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              Range: offset > 0 ? `bytes=${offset}-` : undefined,
              IfMatch: offset > 0 && validator ? validator : undefined,
            }),
          );
          const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(r.ContentRange ?? "");
          const start = range ? Number(range[1]) : 0;
          const total = range ? Number(range[2]) : (r.ContentLength ?? null);
          return {
            body: r.Body as AsyncIterable<Uint8Array>,
            start,
            total,
            validator: r.ETag ?? null,
            metadata: lowerKeys(r.Metadata),
            acceptsRanges: true,
          };
        } catch (error) {
          throw describeS3Error(error, where(key), settings);
        }
      };
    },
    async upload(path, key, metadata, onBytes): Promise<void> {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: createReadStream(path), Metadata: metadata },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      let reported = 0;
      upload.on("httpUploadProgress", (p) => {
        const loaded = p.loaded ?? 0;
        if (loaded > reported) {
          onBytes(loaded - reported);
          reported = loaded;
        }
      });
      try {
        await upload.done();
      } catch (error) {
        throw describeS3Error(error, where(key), settings);
      }
    },
  };
}
