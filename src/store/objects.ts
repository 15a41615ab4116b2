/**
 * roar's content store for bytes it must keep outside the database: `.roar/objects/<2 hex>/<62 hex>`, named by
 * BLAKE3, read-only files. Today: what files held before a job changed them (reversible.enabled), for `roar pop`.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";

export function objectPath(roarDir: string, blake3: string): string {
  return join(roarDir, "objects", blake3.slice(0, 2), blake3.slice(2));
}

export function hasObject(roarDir: string, blake3: string): boolean {
  return existsSync(objectPath(roarDir, blake3));
}

/**
 * Moves `file` (whose BLAKE3 is `blake3`, on the same filesystem as .roar/) into the store; a copy already there
 * wins and `file` is removed. Returns false when it could not be stored.
 */
export function keepObject(roarDir: string, blake3: string, file: string): boolean {
  const target = objectPath(roarDir, blake3);
  try {
    if (existsSync(target)) {
      unlinkSync(file);
      return true;
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    chmodSync(file, 0o400);
    try {
      // link + unlink: never replaces an object another run stored meanwhile
      linkSync(file, target);
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") renameSync(file, target);
      else unlinkSync(file);
    }
    return true;
  } catch {
    return false;
  }
}
