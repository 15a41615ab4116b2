/**
 * What the rebuild's steps wrote, kept safe across checkouts: each step runs at its own commit, and moving the
 * clone to another commit rewrites or removes tracked files — an output the user committed at one commit but not
 * at another among them. Before a move, the outputs later steps still read are copied aside (by digest); before
 * each step, the ones it reads are put back when the checkout changed them. Each step's outputs are hashed right
 * after it ran, so the verification sees what the step produced, not what a later checkout left.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { IoFlags } from "../../core/io-flags.ts";
import { absolutePath } from "../../core/project-paths.ts";
import type { JobWithIo } from "../../core/types.ts";
import { hashFile, isHashError } from "../../hash/index.ts";
import { fsPath, parentDir } from "../../shared/paths.ts";
import { hashAsRecorded } from "../links.ts";

export class Intermediates {
  /** Path → digest each planned step's output had right after the step (the last writer wins). */
  readonly produced = new Map<string, string | null>();
  private readonly stashed = new Set<string>();

  constructor(
    private readonly steps: readonly JobWithIo[],
    private readonly projectDir: string,
    private readonly stashDir: string,
  ) {}

  /** After step `index` ran: what it wrote, as it is now. */
  async record(index: number): Promise<void> {
    const step = this.steps[index] as JobWithIo;
    const paths = step.outputs.map((o) => absolutePath(o.path, this.projectDir));
    // A link the step made is compared as a link (its target text), not by what it points to.
    const hashed = await hashAsRecorded(
      step.outputs.map((o, i) => ({ path: paths[i] as string, link: (o.flags & IoFlags.SYMLINK) !== 0 })),
    );
    step.outputs.forEach((o, i) => {
      const h = hashed.get(paths[i] as string);
      this.produced.set(o.path, h && !isHashError(h) ? h.blake3 : null);
    });
  }

  /** Before the clone moves to another commit ahead of step `index`: copy aside what steps from there read. */
  stashBefore(index: number): void {
    const wanted = new Set<string>();
    for (const step of this.steps.slice(index)) for (const i of step.inputs) if (i.blake3) wanted.add(i.blake3);
    for (const [path, digest] of this.produced) {
      if (!digest || !wanted.has(digest) || this.stashed.has(digest)) continue;
      mkdirSync(this.stashDir, { recursive: true });
      copyFileSync(fsPath(absolutePath(path, this.projectDir)), join(this.stashDir, digest));
      this.stashed.add(digest);
    }
  }

  /** Before step `index` runs: every input it read that an earlier step produced holds those bytes again. */
  async restoreFor(index: number): Promise<void> {
    const step = this.steps[index] as JobWithIo;
    for (const input of step.inputs) {
      if (!input.blake3 || !this.stashed.has(input.blake3)) continue;
      const target = absolutePath(input.path, this.projectDir);
      const now = existsSync(fsPath(target)) ? await hashFile(target) : undefined;
      if (now && !isHashError(now) && now.blake3 === input.blake3) continue;
      mkdirSync(fsPath(parentDir(target)), { recursive: true });
      copyFileSync(join(this.stashDir, input.blake3), fsPath(target));
    }
  }
}
