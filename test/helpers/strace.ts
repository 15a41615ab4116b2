/**
 * `strace -f` as the reference tracer of the fidelity tests: runs a command under it and turns its log into
 * trace events (see straceToEvents), which go through the same traceFacts as every backend's.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TraceEvent } from "../../src/schema/events.ts";
import { fsPath } from "../../src/shared/paths.ts";
import { tempDir } from "./cli.ts";
import { straceToEvents } from "./trace-facts.ts";

/** The syscall classes strace must show for straceToEvents. */
export const STRACE_CLASSES = "trace=file,process,network,ftruncate,fchdir";

export interface StraceRun {
  events: TraceEvent[];
  exitCode: number | null;
}

export function straceRun(strace: string, argv: string[], cwd: string, env: Record<string, string>): StraceRun {
  const out = join(tempDir("roar-strace-"), "strace.txt");
  const r = Bun.spawnSync([strace, "-f", "-qq", "-yy", "-s", "4096", "-e", STRACE_CLASSES, "-o", out, ...argv], {
    cwd,
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  const isDir = (p: string) => {
    try {
      return statSync(fsPath(p)).isDirectory();
    } catch {
      return false;
    }
  };
  return { events: straceToEvents(readFileSync(out, "utf8"), cwd, isDir), exitCode: r.exitCode };
}
