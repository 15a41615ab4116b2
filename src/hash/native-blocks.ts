/**
 * What the native kernel's batch calls take and give (rust/hash): paths as one block of NUL-terminated bytes,
 * the sizes and mtimes a change check compares with, its answers; and ChangeCheckList, such a call's input encoded
 * a chunk at a time.
 */
import { hasEscapedBytes, pathToBytes } from "../shared/paths.ts";

/** Paths as NUL-terminated bytes back to back (bytes exact: escaped non-UTF-8 names are unescaped). */
export function pathBlock(paths: readonly string[]): Buffer {
  // Escaped bytes are lone surrogates, and the NULs keep the names apart: a well-formed whole has none, and is
  // encoded in one call (20,000 paths: ~1 ms, against ~10 ms name by name).
  const joined = `${paths.join("\0")}\0`;
  if (joined.isWellFormed()) return Buffer.from(joined);
  const escaped = new Map<number, Uint8Array>();
  let total = 0;
  paths.forEach((path, i) => {
    if (hasEscapedBytes(path)) {
      const bytes = pathToBytes(path);
      escaped.set(i, bytes);
      total += bytes.length + 1;
    } else total += Buffer.byteLength(path) + 1;
  });
  const block = Buffer.allocUnsafe(Math.max(1, total));
  let at = 0;
  paths.forEach((path, i) => {
    const bytes = escaped.get(i);
    if (bytes) {
      block.set(bytes, at);
      at += bytes.length;
    } else at += block.write(path, at);
    block[at++] = 0;
  });
  return block;
}

/** What a change check compares each file with: its size and mtime as the tracer saw them (2 f64 a path). */
export function expectedOf(seen: readonly { readonly size: number; readonly mtimeNs: number }[]): Float64Array {
  const expected = new Float64Array(Math.max(1, seen.length) * 2);
  writeExpected(seen, expected, 0);
  return expected;
}

/** Writes expectedOf's pairs into `into` from pair `at` on. */
function writeExpected(
  seen: readonly { readonly size: number; readonly mtimeNs: number }[],
  into: Float64Array,
  at: number,
): void {
  for (let i = 0; i < seen.length; i++) {
    const was = seen[i] as { size: number; mtimeNs: number };
    into[2 * (at + i)] = was.size;
    into[2 * (at + i) + 1] = was.mtimeNs;
  }
}

/** A change check's output as booleans (its flags read as 32-bit words: no BigInt a file). */
export function changedFlags(out: BigUint64Array): boolean[] {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length * 2);
  const changed = new Array<boolean>(out.length);
  for (let i = 0; i < out.length; i++) changed[i] = words[2 * i] !== 0;
  return changed;
}

/**
 * Paths with the size and mtime each was seen with, encoded for a change check as they come (a chunk at a time),
 * so that the check of tens of thousands of files needs no encoding when it is asked for: the inputs a job opened
 * are listed while it runs, on roar's own CPU (~3 ms of encoding, no longer after the job's end).
 */
export class ChangeCheckList {
  /**
   * The paths' blocks back to back, and their expected values, each in one buffer that grows by doubling: what a
   * change check is given when the command ends is then a view, not a concatenation of ~0.5 MB made then (0.4–0.8
   * ms of the record step's critical path for 20,000 inputs).
   */
  private block = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private expected = new Float64Array(2 * 1024);
  /** How many paths the list holds. */
  count = 0;

  add(paths: readonly string[], seen: readonly { readonly size: number; readonly mtimeNs: number }[]): void {
    if (paths.length === 0) return;
    const part = pathBlock(paths);
    if (this.used + part.length > this.block.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.block.length, this.used + part.length));
      grown.set(this.block.subarray(0, this.used));
      this.block = grown;
    }
    this.block.set(part, this.used);
    this.used += part.length;
    if (2 * (this.count + paths.length) > this.expected.length) {
      const grown = new Float64Array(Math.max(2 * this.expected.length, 2 * (this.count + paths.length)));
      grown.set(this.expected.subarray(0, 2 * this.count));
      this.expected = grown;
    }
    writeExpected(seen, this.expected, this.count);
    this.count += paths.length;
  }

  /**
   * The list as one path block and one array of expected values (2 a path): views of it as it is now (what is
   * added after is written past them, or to new buffers).
   */
  encoded(): { block: Buffer; expected: Float64Array; count: number } {
    return {
      block: this.block.subarray(0, this.used),
      expected: this.expected.subarray(0, Math.max(1, this.count) * 2),
      count: this.count,
    };
  }
}
