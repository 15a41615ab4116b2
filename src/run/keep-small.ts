/**
 * Copies of small parameter and metrics files (JSON, YAML, TOML, CSV/TSV up to 64 KiB) a job read or wrote,
 * kept in `.roar/objects` by digest: so `roar diff` can compare a metrics file with its overwritten earlier
 * version, and `roar reproduce` can place a params file that was never committed. Only bytes that still hash to
 * the recorded digest are kept; at most a few dozen files per job.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { absolutePath } from "../core/project-paths.ts";
import { structuredFormat } from "../core/structured.ts";
import type { IoRecord } from "../core/types.ts";
import { hashBytes } from "../hash/index.ts";
import { fsPath } from "../shared/paths.ts";
import { hasObject, objectPath } from "../store/objects.ts";

export const MAX_KEPT_BYTES = 64 * 1024;
const MAX_KEPT_FILES = 32;

export async function keepSmallStructured(
  lists: readonly (readonly IoRecord[])[],
  projectRoot: string,
  roarDir: string,
): Promise<void> {
  // Plain loops: once a job over every record (tens of thousands), mostly before the JIT has compiled them.
  const wanted: IoRecord[] = [];
  for (const records of lists)
    for (const r of records) {
      if (wanted.length === MAX_KEPT_FILES) break;
      if (r.blake3 && r.size !== null && r.size <= MAX_KEPT_BYTES && structuredFormat(r.path) !== null) wanted.push(r);
    }
  for (const r of wanted) {
    const digest = r.blake3 as string;
    if (hasObject(roarDir, digest)) continue;
    try {
      const file = fsPath(absolutePath(r.path, projectRoot));
      if (statSync(file).size !== r.size) continue;
      const bytes = readFileSync(file);
      if ((await hashBytes(bytes)) !== digest) continue; // changed since it was hashed
      const target = objectPath(roarDir, digest);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes, { mode: 0o400 });
      renameSync(tmp, target);
    } catch {
      // A copy is a convenience: the job is recorded without it.
    }
  }
}
