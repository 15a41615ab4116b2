/**
 * roar's stdout and stderr. Loading Node's process.stdout/stderr (node:stream, node:tty) costs every command
 * ~15 ms; so output to a pipe, a file or /dev/null is written with plain synchronous write(2) calls, and only
 * a terminal (where colour, columns and progress redraws need it) gets the real process stream.
 */
import { fstatSync, readlinkSync, writeSync } from "node:fs";
import type { OutputStream } from "./output-policy.ts";

/** Whether `fd` is a terminal, without node:tty: a character device whose name is a tty's. */
export function isTerminal(fd: number): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  try {
    return /^\/dev\/(pts\/\d+|tty|console$)/.test(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    // No /proc: ask Node (loading its streams) rather than guess.
    return (fd === 0 ? process.stdin : fd === 1 ? process.stdout : process.stderr).isTTY === true;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to `fd`, waiting out a non-blocking pipe that is full. */
function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let done = 0;
  while (done < bytes.byteLength) {
    try {
      done += writeSync(fd, bytes, done, bytes.byteLength - done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        // A non-blocking descriptor inherited from the parent and a slow reader: retry shortly.
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      // `roar … | head`: the reader went away; that is not an error worth a message.
      if (code === "EPIPE") process.exit(0);
      throw error;
    }
  }
}

/** stdout or stderr: writes go straight to the descriptor unless it is a terminal. */
export class StdStream implements OutputStream {
  private terminal: boolean | undefined;

  constructor(readonly fd: 1 | 2) {}

  get isTTY(): boolean {
    this.terminal ??= isTerminal(this.fd);
    return this.terminal;
  }

  /** The terminal's width (undefined when not a terminal). */
  get columns(): number | undefined {
    return this.isTTY ? this.nodeStream().columns : undefined;
  }

  write(data: string | Uint8Array): boolean {
    if (this.isTTY) return this.nodeStream().write(data);
    writeAll(this.fd, data);
    return true;
  }

  private nodeStream(): NodeJS.WriteStream {
    return this.fd === 1 ? process.stdout : process.stderr;
  }
}

export const stdout = new StdStream(1);
export const stderr = new StdStream(2);
