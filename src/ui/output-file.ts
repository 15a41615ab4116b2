/** Writing a command's document to a file the user named (`-o FILE`): all or nothing, never half a file. */
import { renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RoarError } from "../shared/errors.ts";

/** Writes `text` to a temporary file beside `path`, then renames it over `path`. */
export function writeFileAtomic(path: string, text: string): void {
  try {
    if (statSync(path).isDirectory()) throw new RoarError(`cannot write ${path}: it is a directory`);
  } catch (error) {
    if (error instanceof RoarError) throw error;
  }
  const tmp = join(dirname(path), `.${basename(path)}.roar-tmp-${process.pid}`);
  try {
    writeFileSync(tmp, text, { flag: "wx" });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    const e = error as NodeJS.ErrnoException;
    const why = e.code === "ENOENT" ? "no such directory" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new RoarError(`cannot write ${path}: ${why}`);
  }
}
