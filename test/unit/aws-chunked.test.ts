/** The test server's aws-chunked decoder (test/helpers/aws-chunked.ts): what S3 accepts and refuses. */
import { expect, test } from "bun:test";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";
import { AwsChunkedDecoder } from "../helpers/aws-chunked.ts";

function frame(parts: string[], trailer: string | null, signed = false): Buffer {
  const sig = signed ? ";chunk-signature=0123" : "";
  const chunks = parts.map((p) => `${Buffer.byteLength(p).toString(16)}${sig}\r\n${p}\r\n`).join("");
  return Buffer.from(`${chunks}0${sig}\r\n${trailer ? `${trailer}\r\n` : ""}\r\n`);
}

function crcOf(text: string): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(Buffer.from(text)) >>> 0);
  return out.toString("base64");
}

async function decode(body: Buffer, length: number | null, trailer: string | null, pieces = 7): Promise<string> {
  // Fed in odd-sized pieces, so headers and CRLFs straddle chunk boundaries.
  const slices: Buffer[] = [];
  for (let i = 0; i < body.length; i += pieces) slices.push(body.subarray(i, i + pieces));
  const out: Buffer[] = [];
  const decoder = Readable.from(slices).pipe(new AwsChunkedDecoder(length, trailer));
  for await (const chunk of decoder) out.push(chunk as Buffer);
  return Buffer.concat(out).toString();
}

test("decodes chunks and verifies the trailing CRC32 and the decoded length", async () => {
  const text = "hello world, this is aws-chunked";
  const body = frame(["hello world, ", "this is aws-chunked"], `x-amz-checksum-crc32:${crcOf(text)}`);
  expect(await decode(body, text.length, "x-amz-checksum-crc32")).toBe(text);
  expect(await decode(frame(["abc"], null, true), 3, null, 1)).toBe("abc");
  await expect(decode(body, text.length, "x-amz-checksum-crc32", 1000)).resolves.toBe(text);
  const wrong = frame(["hello"], `x-amz-checksum-crc32:${crcOf("HELLO")}`);
  await expect(decode(wrong, 5, "x-amz-checksum-crc32")).rejects.toThrow("mismatch");
  await expect(decode(frame(["hello"], null), 6, null)).rejects.toThrow("decoded 5 bytes");
  await expect(decode(Buffer.from("5\r\nhel"), null, null)).rejects.toThrow("ended early");
});
