/** Stored paths: relative to the project root when inside it, else absolute (as `roar run` records them). */
import { homedir } from "node:os";
import { isAbsolute, relative, resolve, sep } from "node:path";

export function storedPath(absolute: string, projectRoot: string): string {
  return absolute === projectRoot || absolute.startsWith(projectRoot + sep)
    ? relative(projectRoot, absolute)
    : absolute;
}

export function absolutePath(stored: string, projectRoot: string): string {
  return isAbsolute(stored) ? stored : resolve(projectRoot, stored);
}

/** A path the user typed (relative to their cwd, `~` expanded) → absolute. */
export function userPath(text: string, cwd: string): string {
  if (text === "~" || text.startsWith("~/")) return resolve(homedir(), text.slice(2));
  return resolve(cwd, text);
}

/** True when `absolute` lies inside `root` (not equal to it). */
export function isInside(absolute: string, root: string): boolean {
  return absolute.startsWith(root + sep);
}
