/** Reference implementations to check roar's results against (never roar's own code path under test). */
import { readFileSync } from "node:fs";
import { blake3Reference } from "../fixtures/hash/blake3-reference.ts";
import { HAVE_B3SUM } from "../fixtures/hash/reference.ts";

/**
 * BLAKE3 of a file by the official b3sum tool, or without it by the test suite's own implementation (checked
 * against the official test vectors in test/unit/hash.test.ts).
 */
export function b3sum(path: string): string {
  if (!HAVE_B3SUM) return blake3Reference(readFileSync(path));
  const r = Bun.spawnSync(["b3sum", "--no-names", path], { stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`b3sum ${path} failed`);
  return r.stdout.toString().trim();
}

export function sha256sum(path: string): string {
  const r = Bun.spawnSync(["sha256sum", path], { stdout: "pipe" });
  return r.stdout.toString().split(" ")[0] ?? "";
}

/** BLAKE3 of some bytes by b3sum (reading stdin), or by the reference implementation without it. */
export function b3sumOf(bytes: string | Uint8Array): string {
  if (!HAVE_B3SUM) return blake3Reference(bytes);
  const r = Bun.spawnSync(["b3sum", "--no-names"], { stdin: Buffer.from(bytes), stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error("b3sum of stdin failed");
  return r.stdout.toString().trim();
}
