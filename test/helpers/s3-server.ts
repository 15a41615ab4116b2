/**
 * A real S3-protocol server on loopback for tests and benchmarks: s3rver (npm), started in this process with its
 * own temporary directory.
 *
 * Two corrections make it behave like S3. s3rver 3.7.1 checks only the access key id of a SigV4 request (its V4
 * verification is "unimplemented"): a middleware in front verifies the signature (sigv4.ts), so a wrong secret key
 * is refused with 403 SignatureDoesNotMatch as S3 does. And it stores a streamed upload sent with
 * `Content-Encoding: aws-chunked` (what the AWS SDK sends for a stream body, with a trailing CRC32) *with* its chunk
 * framing. S3 decodes the framing, verifies the trailing checksum and `x-amz-decoded-content-length`, and drops
 * `aws-chunked` from the stored Content-Encoding. The store's putObject/putPart are wrapped to do the same, so the
 * bytes on the server's disk are the object's bytes (tests check them with b3sum).
 */
import { mkdirSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import type { Readable } from "node:stream";
import S3rver from "s3rver";
import { AwsChunkedDecoder } from "./aws-chunked.ts";
import { tempDir } from "./cli.ts";
import { sigV4Problem } from "./sigv4.ts";

export const S3_ACCESS_KEY = "S3RVER";
export const S3_SECRET_KEY = "S3RVER";

export interface S3TestServer {
  endpoint: string;
  port: number;
  /** Where s3rver keeps its buckets (`<dir>/<bucket>/<key>._S3rver_object` files). */
  directory: string;
  /** Path of the stored bytes of an object. */
  objectFile(bucket: string, key: string): string;
  /** Environment for a roar process: endpoint override, static credentials, no instance-metadata lookups. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

type StoredObject = { content: Readable & { headers?: IncomingMessage["headers"] }; metadata: Record<string, string> };

type KoaMiddleware = (
  ctx: { req: IncomingMessage; status: number; type: string; body: unknown },
  next: () => Promise<void>,
) => Promise<void>;

interface FilesystemStore {
  putObject(object: StoredObject): Promise<unknown>;
  putPart(bucket: string, uploadId: string, partNumber: string, content: Readable): Promise<unknown>;
}

/** The decoded body of an aws-chunked request, or the request itself. */
function decodedBody(content: Readable & { headers?: IncomingMessage["headers"] }): Readable {
  const headers = content.headers ?? {};
  const encoding = String(headers["content-encoding"] ?? "");
  if (!encoding.split(",").some((e) => e.trim() === "aws-chunked")) return content;
  const length = headers["x-amz-decoded-content-length"];
  const decoder = new AwsChunkedDecoder(
    length === undefined ? null : Number(length),
    (headers["x-amz-trailer"] as string | undefined) ?? null,
  );
  content.on("error", (e) => decoder.destroy(e));
  return content.pipe(decoder);
}

function withoutAwsChunked(encoding: string | undefined): string | undefined {
  if (encoding === undefined) return undefined;
  const rest = encoding
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "" && e !== "aws-chunked");
  return rest.length > 0 ? rest.join(", ") : undefined;
}

export async function startS3Server(buckets: string[] = ["roar-test"]): Promise<S3TestServer> {
  const root = tempDir("roar-s3-");
  const directory = join(root, "data");
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  // Koa composes its middleware when the server starts: this one runs before s3rver's own.
  (server as unknown as { middleware: KoaMiddleware[] }).middleware.unshift(async (ctx, next) => {
    const problem = sigV4Problem(ctx.req.method ?? "GET", ctx.req.url ?? "/", ctx.req.headers, (id) =>
      id === S3_ACCESS_KEY ? S3_SECRET_KEY : undefined,
    );
    if (problem === null) return next();
    ctx.status = 403;
    ctx.type = "application/xml";
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${problem}</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>`;
  });
  const store = server.store as FilesystemStore;
  const putObject = store.putObject.bind(store);
  const putPart = store.putPart.bind(store);
  store.putObject = (object) => {
    const encoding = withoutAwsChunked(object.metadata["content-encoding"]);
    if (encoding === undefined) delete object.metadata["content-encoding"];
    else object.metadata["content-encoding"] = encoding;
    return putObject({ ...object, content: decodedBody(object.content) } as StoredObject);
  };
  store.putPart = (bucket, uploadId, partNumber, content) =>
    putPart(bucket, uploadId, partNumber, decodedBody(content as StoredObject["content"]));
  const address = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    directory,
    objectFile: (bucket, key) => join(directory, bucket, `${key}._S3rver_object`),
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
    }),
    close: async () => {
      await server.close();
      // The stored objects can be large: removed now, not at process exit.
      if (!process.env.ROAR_KEEP_TMP) rmSync(root, { recursive: true, force: true });
    },
  };
}
