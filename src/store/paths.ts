/**
 * File names at the store boundary. In memory a path is a JS string in which every byte that is not valid UTF-8
 * is a lone surrogate (U+DC80..U+DCFF, see shared/paths.ts). SQLite TEXT cannot hold those, so such a path is
 * stored as a BLOB of its exact bytes; every valid UTF-8 path stays TEXT. The two never compare equal, so a
 * file named "\xff" (four characters) and one whose name is the byte 0xff stay distinct.
 */
import { bytesToPath, hasEscapedBytes, pathToBytes } from "../shared/paths.ts";

/** The value to bind for a path: TEXT when it is valid UTF-8, else a BLOB of its bytes. */
export function pathParam(path: string): string | Uint8Array {
  return hasEscapedBytes(path) ? pathToBytes(path) : path;
}

/** A path column read back (TEXT or BLOB) as the in-memory string. */
export function pathFromRow(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return bytesToPath(value);
  return String(value);
}
