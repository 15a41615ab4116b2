/** The SSH wire encoding (RFC 4251 §5): uint32, string, mpint — a reader and a writer, nothing more. */

/** Malformed SSH data (a key, a signature): callers turn it into a refusal, never a crash. */
export class SshWireError extends Error {}

export class SshReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new SshWireError("truncated SSH data");
    const b = this.buf;
    const v =
      ((b[this.pos] as number) * 0x1000000 + ((b[this.pos + 1] as number) << 16)) |
      ((b[this.pos + 2] as number) << 8) |
      (b[this.pos + 3] as number);
    this.pos += 4;
    return v >>> 0;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new SshWireError("truncated SSH data");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): Uint8Array {
    return this.bytes(this.uint32());
  }

  text(): string {
    return new TextDecoder().decode(this.string());
  }

  /** An mpint as an unsigned big-endian byte string (leading zero bytes removed). */
  mpint(): Uint8Array {
    const raw = this.string();
    let i = 0;
    while (i < raw.length - 1 && raw[i] === 0) i++;
    return raw.subarray(i);
  }
}

export class SshWriter {
  private readonly parts: Uint8Array[] = [];

  raw(bytes: Uint8Array | string): this {
    this.parts.push(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    return this;
  }

  uint32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    return this.raw(b);
  }

  string(bytes: Uint8Array | string): this {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return this.uint32(b.length).raw(b);
  }

  /** An mpint from unsigned big-endian bytes (a 0x00 byte in front when the top bit is set). */
  mpint(unsigned: Uint8Array): this {
    let i = 0;
    while (i < unsigned.length && unsigned[i] === 0) i++;
    const v = unsigned.subarray(i);
    if (v.length > 0 && ((v[0] as number) & 0x80) !== 0) return this.string(Uint8Array.of(0, ...v));
    return this.string(v);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
