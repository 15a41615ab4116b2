/**
 * The rebuild's code state: a commit plus, optionally, a recorded uncommitted diff. Moving to another state
 * takes the previous diff back out first; untracked files (outputs of earlier steps, placed inputs) stay.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RoarError } from "../../shared/errors.ts";

export type Shell = (argv: string[], what: string) => void;

export class CheckoutState {
  private commit: string | null = null;
  private patchFile: string | null = null;
  private patch: string | null = null;

  constructor(
    private readonly dest: string,
    /** The user's repository, to fetch a commit the recorded remote does not have. */
    private readonly localRepo: string,
    /** The bytes of a recorded diff, by digest. */
    private readonly blob: (digest: string) => Uint8Array | undefined,
    private readonly sh: Shell,
    private readonly note: (message: string) => void,
  ) {}

  /** A commit recorded locally but never pushed is fetched from the user's repository (read-only). */
  private ensureCommit(commit: string): void {
    const has = Bun.spawnSync(["git", "cat-file", "-e", `${commit}^{commit}`], { cwd: this.dest }).exitCode === 0;
    if (has) return;
    this.note(`roar: commit ${commit.slice(0, 12)} is not on the recorded remote; fetching it from ${this.localRepo}`);
    this.sh(["git", "fetch", "--quiet", this.localRepo, commit], `git fetch ${commit.slice(0, 12)}`);
  }

  /** Whether moving to this state changes the working tree. */
  changes(commit: string, patch: string | null): boolean {
    return commit !== this.commit || patch !== this.patch;
  }

  moveTo(commit: string, patch: string | null): void {
    if (!this.changes(commit, patch)) return;
    if (this.patchFile) this.sh(["git", "apply", "-R", "--binary", this.patchFile], "git apply -R (previous diff)");
    this.ensureCommit(commit);
    this.sh(["git", "checkout", "--quiet", "--force", "--detach", commit], `git checkout ${commit.slice(0, 12)}`);
    this.commit = commit;
    this.patch = patch;
    this.patchFile = null;
    if (!patch) return;
    const bytes = this.blob(patch);
    if (!bytes) throw new RoarError(`the recorded diff ${patch.slice(0, 12)} is missing from the database`);
    const file = join(tmpdir(), `roar-patch-${patch.slice(0, 16)}.diff`);
    writeFileSync(file, bytes);
    this.sh(["git", "apply", "--binary", "--whitespace=nowarn", file], "git apply (recorded diff)");
    this.patchFile = file;
  }
}
