/** Reference implementations to check roar's results against (never roar's own code path under test). */
import { existsSync } from "node:fs";

/** BLAKE3 of a file by the official b3sum tool (installed by the test set-up). */
export function b3sum(path: string): string {
  if (!existsSync("/usr/bin/b3sum")) throw new Error("b3sum is not installed (apt-get install b3sum)");
  const r = Bun.spawnSync(["/usr/bin/b3sum", "--no-names", path], { stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`b3sum ${path} failed`);
  return r.stdout.toString().trim();
}

export function sha256sum(path: string): string {
  const r = Bun.spawnSync(["sha256sum", path], { stdout: "pipe" });
  return r.stdout.toString().split(" ")[0] ?? "";
}

/** BLAKE3 of some bytes by b3sum (reading stdin). */
export function b3sumOf(bytes: string | Uint8Array): string {
  if (!existsSync("/usr/bin/b3sum")) throw new Error("b3sum is not installed (apt-get install b3sum)");
  const r = Bun.spawnSync(["/usr/bin/b3sum", "--no-names"], { stdin: Buffer.from(bytes), stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error("b3sum of stdin failed");
  return r.stdout.toString().trim();
}
