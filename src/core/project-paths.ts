/**
 * Stored paths: relative to the project root when inside it, else absolute (as `roar run` records them).
 *
 * Plain string operations on purpose: Bun's native node:path functions turn lone surrogates — the bytes of a file
 * name that is not valid UTF-8, see shared/paths.ts — into U+FFFD, which would name another file.
 */
import { resolveFrom } from "../shared/paths.ts";

export function storedPath(absolute: string, projectRoot: string): string {
  if (absolute === projectRoot) return "";
  return isInside(absolute, projectRoot) ? absolute.slice(projectRoot.length + 1) : absolute;
}

export function absolutePath(stored: string, projectRoot: string): string {
  return resolveFrom(projectRoot, stored);
}

/**
 * absolutePath for a path as the store keeps it (normal already, see storedPath): joined without re-resolving,
 * for loops over tens of thousands of recorded files.
 */
export function storedAbsolute(stored: string, projectRoot: string): string {
  if (stored.startsWith("/")) return stored;
  return projectRoot === "/" ? `/${stored}` : `${projectRoot}/${stored}`;
}

/**
 * The directory of a stored path, itself stored: a slice of the row's string ("" for a file at the project root,
 * "/" for a top-level absolute one). Loops over tens of thousands of recorded files key their directory checks
 * by it, building absolute paths only for the directories and the files that need a stat.
 */
export function storedDir(stored: string): string {
  const slash = stored.lastIndexOf("/");
  return slash < 0 ? "" : slash === 0 ? "/" : stored.slice(0, slash);
}

/** storedAbsolute for a storedDir ("" is the project root itself). */
export function storedDirAbsolute(dir: string, projectRoot: string): string {
  return dir === "" ? projectRoot : storedAbsolute(dir, projectRoot);
}

/** True when `absolute` lies inside `root` (not equal to it). No `${root}/` string a call: loops over a job's files. */
export function isInside(absolute: string, root: string): boolean {
  if (root === "/") return absolute.length > 1 && absolute.charCodeAt(0) === SLASH;
  return absolute.length > root.length && absolute.charCodeAt(root.length) === SLASH && absolute.startsWith(root);
}

const SLASH = 47;
