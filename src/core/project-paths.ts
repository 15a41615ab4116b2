/**
 * Stored paths: relative to the project root when inside it, else absolute (as `roar run` records them).
 *
 * Plain string operations on purpose: Bun's native node:path functions turn lone surrogates — the bytes of a file
 * name that is not valid UTF-8, see shared/paths.ts — into U+FFFD, which would name another file.
 */
import { homedir } from "node:os";

/** `path` with `.` and `..` components and repeated slashes resolved; `path` must be absolute. */
export function normalizeAbsolute(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** `path` made absolute against the absolute directory `base` (node's path.resolve(base, path)). */
export function resolveFrom(base: string, path: string): string {
  return normalizeAbsolute(path.startsWith("/") ? path : `${base}/${path}`);
}

/** The directory part of an absolute path ("/" for a top-level name). */
export function parentDir(absolute: string): string {
  const at = absolute.lastIndexOf("/");
  return at <= 0 ? "/" : absolute.slice(0, at);
}

export function storedPath(absolute: string, projectRoot: string): string {
  if (absolute === projectRoot) return "";
  return isInside(absolute, projectRoot) ? absolute.slice(projectRoot.length + 1) : absolute;
}

export function absolutePath(stored: string, projectRoot: string): string {
  return resolveFrom(projectRoot, stored);
}

/** A path the user typed (relative to their cwd, `~` expanded) → absolute. */
export function userPath(text: string, cwd: string): string {
  if (text === "~" || text.startsWith("~/")) return resolveFrom(homedir(), text.slice(2));
  return resolveFrom(cwd, text);
}

/** True when `absolute` lies inside `root` (not equal to it). */
export function isInside(absolute: string, root: string): boolean {
  return absolute.startsWith(root === "/" ? "/" : `${root}/`) && absolute !== root;
}
