/**
 * The reference of bench/transfer.ts: the same transfer as a bare AWS SDK loop, no roar — an upload through
 * lib-storage with the same part size and queue, or a GetObject streamed to a file.
 * Run by bench/transfer.ts: bun bench/transfer-bare.ts up|down <file> <bucket> <key>
 */
import { createReadStream, createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PART_SIZE, QUEUE_SIZE } from "../src/transfer/s3.ts";

const [mode, file, bucket, key] = process.argv.slice(2) as [string, string, string, string];
const client = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true });
if (mode === "up") {
  await new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
  }).done();
} else {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(r.Body as Readable, createWriteStream(file));
}
