/**
 * Decodes an `aws-chunked` request body the way S3 does: `<hex size>[;chunk-signature=…]\r\n<data>\r\n`… then a
 * zero-size chunk, optional trailer lines (`x-amz-checksum-crc32:<base64>`) and a blank line. The trailing checksum
 * and `x-amz-decoded-content-length` are verified; a mismatch fails the stream (S3 answers 400 and keeps nothing).
 *
 * Test infrastructure only: s3rver 3.7.1 stores such bodies with their framing (see s3-server.ts).
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { crc32 } from "node:zlib";

type State = "header" | "data" | "data-end" | "trailer" | "done";

interface Checksum {
  update(data: Uint8Array): void;
  digest(): string;
}

function checksumFor(algorithm: string): Checksum {
  if (algorithm === "crc32") {
    let value = 0;
    return {
      update: (data) => {
        value = crc32(data, value);
      },
      digest: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out.toString("base64");
      },
    };
  }
  if (algorithm === "sha256" || algorithm === "sha1") {
    const hash: Hash = createHash(algorithm);
    return { update: (data) => hash.update(data), digest: () => hash.digest("base64") };
  }
  throw new Error(`unsupported trailing checksum algorithm '${algorithm}'`);
}

export class AwsChunkedDecoder extends Transform {
  private state: State = "header";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private decoded = 0;
  private readonly trailers = new Map<string, string>();
  private readonly checksum: { header: string; sum: Checksum } | null;

  constructor(
    private readonly decodedLength: number | null,
    trailerHeader: string | null,
  ) {
    super();
    const name = trailerHeader?.trim().toLowerCase() ?? "";
    const algorithm = /^x-amz-checksum-([a-z0-9]+)$/.exec(name)?.[1];
    this.checksum = algorithm ? { header: name, sum: checksumFor(algorithm) } : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.drain();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.problem() ?? undefined);
  }

  /** What is wrong with the body as a whole, once it has ended. */
  private problem(): Error | null {
    if (this.state !== "done") return new Error("aws-chunked body ended early");
    if (this.decodedLength !== null && this.decoded !== this.decodedLength)
      return new Error(`decoded ${this.decoded} bytes, x-amz-decoded-content-length says ${this.decodedLength}`);
    if (this.checksum) {
      const sent = this.trailers.get(this.checksum.header);
      const actual = this.checksum.sum.digest();
      if (sent !== actual) return new Error(`${this.checksum.header} mismatch: sent ${sent}, body has ${actual}`);
    }
    return null;
  }

  private line(): string | null {
    const at = this.pending.indexOf("\r\n");
    if (at < 0) return null;
    const text = this.pending.subarray(0, at).toString("latin1");
    this.pending = this.pending.subarray(at + 2);
    return text;
  }

  private drain(): void {
    for (;;) {
      if (this.state === "header") {
        const header = this.line();
        if (header === null) return;
        const size = Number.parseInt(header.split(";")[0] as string, 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`bad aws-chunked header '${header}'`);
        this.remaining = size;
        this.state = size === 0 ? "trailer" : "data";
      } else if (this.state === "data") {
        if (this.pending.length === 0) return;
        const take = this.pending.subarray(0, Math.min(this.remaining, this.pending.length));
        this.pending = this.pending.subarray(take.length);
        this.remaining -= take.length;
        this.decoded += take.length;
        this.checksum?.sum.update(take);
        this.push(Buffer.from(take));
        if (this.remaining === 0) this.state = "data-end";
      } else if (this.state === "data-end") {
        if (this.pending.length < 2) return;
        if (this.pending[0] !== 13 || this.pending[1] !== 10) throw new Error("aws-chunked chunk not followed by CRLF");
        this.pending = this.pending.subarray(2);
        this.state = "header";
      } else if (this.state === "trailer") {
        const line = this.line();
        if (line === null) return;
        if (line === "") {
          this.state = "done";
          continue;
        }
        const colon = line.indexOf(":");
        if (colon > 0) this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      } else {
        this.pending = Buffer.alloc(0);
        return;
      }
    }
  }
}
