/**
 * The bytes of a recorded version of a small file, for `roar diff`'s content comparison. roar keeps digests,
 * and copies of small structured files only, so a version is found where it still exists: the working tree (when
 * the file there still hashes to the recorded BLAKE3), `.roar/objects` (the copy `roar run` kept of a small
 * params or metrics file) or git (`git show <commit>:<path>` at the jobs' commits or HEAD), each verified by
 * BLAKE3. Nothing unverified is ever compared.
 */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { absolutePath } from "../core/project-paths.ts";
import { diffStructured, MAX_STRUCTURED_BYTES, type StructuredFormat } from "../core/structured.ts";
import { createEngine, type HashEngine } from "../hash/file.ts";
import type { ContentDiffJson } from "../schema/diff.ts";
import { fsPath } from "../shared/paths.ts";

export interface Version {
  blake3: string;
  size: number | null;
  /** Paths this content was recorded at (the first is the one compared). */
  paths: readonly string[];
}

export class ContentFinder {
  private engine: HashEngine | undefined;
  private readonly found = new Map<string, Uint8Array | null>();

  /**
   * @param root the project root (stored paths are relative to it)
   * @param commits git revisions to look in (the compared jobs' commits, HEAD), most relevant first
   */
  constructor(
    private readonly root: string,
    private readonly commits: readonly string[],
    /** The project's `.roar/objects` (copies by digest). */
    private readonly objectsDir: string | null = null,
  ) {}

  private async blake3(bytes: Uint8Array): Promise<string> {
    this.engine ??= (await createEngine("auto")).engine;
    return this.engine.kind === "native" ? this.engine.native.hashBytes(bytes) : this.engine.wasm.hashBytes(bytes);
  }

  /** The verified bytes of this version, or null when no copy of it is left (or it is too large). */
  async bytes(v: Version): Promise<Uint8Array | null> {
    const cached = this.found.get(v.blake3);
    if (cached !== undefined) return cached;
    let result: Uint8Array | null = null;
    if (v.size === null || v.size <= MAX_STRUCTURED_BYTES) {
      for (const candidate of this.candidates(v)) {
        const bytes = candidate();
        if (bytes && (v.size === null || bytes.byteLength === v.size) && (await this.blake3(bytes)) === v.blake3) {
          result = bytes;
          break;
        }
      }
    }
    this.found.set(v.blake3, result);
    return result;
  }

  private *candidates(v: Version): Generator<() => Uint8Array | null> {
    const paths = [...new Set(v.paths)].slice(0, 6);
    for (const p of paths) yield () => this.fromWorkingTree(p, v.size);
    const objects = this.objectsDir;
    if (objects) yield () => this.fromWorkingTree(`${objects}/${v.blake3.slice(0, 2)}/${v.blake3.slice(2)}`, v.size);
    for (const commit of this.commits) {
      for (const p of paths) if (!isAbsolute(p)) yield () => this.fromGit(commit, p);
    }
  }

  private fromWorkingTree(path: string, size: number | null): Uint8Array | null {
    try {
      const file = fsPath(absolutePath(path, this.root));
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_STRUCTURED_BYTES || (size !== null && st.size !== size)) return null;
      return readFileSync(file);
    } catch {
      return null;
    }
  }

  private fromGit(commit: string, path: string): Uint8Array | null {
    const r = Bun.spawnSync(["git", "show", "--no-textconv", `${commit}:./${path}`], {
      cwd: this.root,
      stdout: "pipe",
      stderr: "ignore",
      env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
    });
    if (r.exitCode !== 0 || r.stdout.byteLength > MAX_STRUCTURED_BYTES) return null;
    return new Uint8Array(r.stdout);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function unavailable(format: StructuredFormat, reason: string): ContentDiffJson {
  return { format, available: false, reason, changes: [], omitted: 0, unchanged: 0 };
}

/** Key-by-key diff of two versions of a structured file, or why it cannot be made. */
export async function contentDiff(
  finder: ContentFinder,
  format: StructuredFormat,
  from: Version,
  to: Version,
): Promise<ContentDiffJson> {
  const tooLarge = [from, to].some((v) => v.size !== null && v.size > MAX_STRUCTURED_BYTES);
  if (tooLarge) return unavailable(format, "content not available: larger than 1 MiB");
  const [a, b] = [await finder.bytes(from), await finder.bytes(to)];
  if (!a || !b) {
    const which = !a && !b ? "either version" : !a ? "the old version" : "the new version";
    return unavailable(format, `content not available: no copy of ${which} on disk, in .roar/objects or in git`);
  }
  let before: string;
  let after: string;
  try {
    before = decoder.decode(a);
    after = decoder.decode(b);
  } catch {
    return unavailable(format, "content not available: not UTF-8 text");
  }
  try {
    return { available: true, ...diffStructured(format, before, after) };
  } catch (error) {
    return unavailable(format, `content not comparable: ${(error as Error).message}`);
  }
}
