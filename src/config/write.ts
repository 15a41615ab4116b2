import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fsErrorReason, RoarError } from "../shared/errors.ts";
import { readTomlFile } from "./load.ts";

/**
 * Applies a text edit to a TOML file atomically (temp file + rename), after checking that the current file
 * parses (so a corrupt file is reported, never overwritten).
 */
export function editTomlFile(path: string, edit: (text: string) => string): void {
  let text = "";
  // A config file may hold [env] secrets: a new one is 0600, an existing one keeps its mode.
  let mode = 0o600;
  if (existsSync(path)) {
    readTomlFile(path);
    text = readFileSync(path, "utf8");
    mode = statSync(path).mode & 0o777;
  } else {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
  const next = edit(text);
  if (next === text) return;
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, next, { mode });
    renameSync(tmp, path);
  } catch (error) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
    const reason = fsErrorReason(error);
    const why = reason === "read-only file system" ? "the store is read-only" : reason;
    if (why) throw new RoarError(`cannot change ${path}: ${why} (nothing was changed)`);
    throw error;
  }
}
