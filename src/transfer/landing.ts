/**
 * Where downloads land: each file is written to a hidden temporary file beside its destination (same directory,
 * so the final rename is atomic) and renamed into place only once complete and verified. Whatever is not
 * committed — after an error, a mismatch or Ctrl-C — is removed, with the directories the transfer created.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsErrorReason, RoarError } from "../shared/errors.ts";

export class Landing {
  private readonly temps = new Set<string>();
  /** Directories this transfer created, outermost first. */
  private readonly createdDirs: string[] = [];

  /** A fresh temporary name beside `dest` (its directory is created if needed). */
  tempFor(dest: string): string {
    const dir = dirname(dest);
    let first: string | undefined;
    try {
      first = mkdirSync(dir, { recursive: true });
    } catch (error) {
      const reason = fsErrorReason(error) ?? (error instanceof Error ? error.message : String(error));
      throw new RoarError(`cannot create the directory of ${dest}: ${reason}`);
    }
    if (first) {
      // mkdirSync returns the outermost directory it made; every level from there down is new.
      for (let d = dir; d.length >= first.length; d = dirname(d)) this.createdDirs.push(d);
    }
    const temp = join(dir, `.${basename(dest)}.roar-${randomBytes(4).toString("hex")}.part`);
    this.temps.add(temp);
    return temp;
  }

  /** Moves a finished temporary file into place. */
  commit(temp: string, dest: string): void {
    renameSync(temp, dest);
    this.temps.delete(temp);
  }

  /** Removes one temporary file (its content was not needed). */
  discard(temp: string): void {
    rmSync(temp, { force: true });
    this.temps.delete(temp);
  }

  /** Removes every temporary file not committed, then the directories created for them when left empty. */
  abort(): void {
    for (const temp of this.temps) rmSync(temp, { force: true });
    this.temps.clear();
    const deepestFirst = [...new Set(this.createdDirs)].sort((a, b) => b.length - a.length);
    for (const dir of deepestFirst) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (a committed file, or something else put there): kept
      }
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time; after a failure nothing new starts, and it is rethrown. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
