import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { readTomlFile } from "./load.ts";

/**
 * Applies a text edit to a TOML file atomically (temp file + rename), after checking that the current file
 * parses (so a corrupt file is reported, never overwritten).
 */
export function editTomlFile(path: string, edit: (text: string) => string): void {
  let text = "";
  if (existsSync(path)) {
    readTomlFile(path);
    text = readFileSync(path, "utf8");
  } else {
    mkdirSync(dirname(path), { recursive: true });
  }
  const next = edit(text);
  if (next === text) return;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, next);
  renameSync(tmp, path);
}
