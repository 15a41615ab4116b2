/**
 * Symbolic links a job made are outputs of their own (IoFlags.SYMLINK): identified by their target text, never
 * by what they point to (which may not exist, or be another job's file). Recording, `status`, `pop` and
 * `reproduce`'s verification all hash such an output the same way, through here.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { type FileHashResult, type HashFilesOptions, hashBytes, hashFiles } from "../hash/index.ts";
import { bytesToPath, fsPath } from "../shared/paths.ts";

export interface LinkDigest {
  blake3: string;
  /** Length of the target text in bytes. */
  size: number;
  target: string;
}

/** The digest of the symbolic link at `path` (of its target text); null when `path` is not a link. */
export async function linkDigest(path: string): Promise<LinkDigest | null> {
  let target: Buffer;
  try {
    if (!lstatSync(fsPath(path)).isSymbolicLink()) return null;
    target = readlinkSync(fsPath(path), { encoding: "buffer" });
  } catch {
    return null;
  }
  return { blake3: await hashBytes(target), size: target.length, target: bytesToPath(target) };
}

/**
 * Hashes paths as their records say they were recorded: a recorded link by its target text (while it is still
 * a link; otherwise by its content, which then differs), everything else by content.
 */
export async function hashAsRecorded(
  entries: Iterable<{ path: string; link: boolean }>,
  options: HashFilesOptions = {},
): Promise<Map<string, FileHashResult>> {
  const out = new Map<string, FileHashResult>();
  const files: string[] = [];
  for (const e of entries) {
    const link = e.link ? await linkDigest(e.path) : null;
    if (link) out.set(e.path, { blake3: link.blake3, size: link.size, digests: {}, cached: false });
    else files.push(e.path);
  }
  if (files.length > 0) for (const [path, result] of await hashFiles(files, options)) out.set(path, result);
  return out;
}
