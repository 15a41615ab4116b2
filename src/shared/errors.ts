import { constants } from "node:os";

/** An error the user can act on: printed as one line (plus an optional hint), never with a stack. */
export class RoarError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "RoarError";
  }
}

/** Usage mistakes (bad flags, bad arguments) exit 2, like most Unix tools. */
export class UsageError extends RoarError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
    this.name = "UsageError";
  }
}

/** `roar run` / `roar build` without a command (also `--` alone, or an empty first word). */
export function missingCommandError(word: string): UsageError {
  return new UsageError(`no command given — usage: roar ${word} [options] <command> [args...]`);
}

export class NotInitializedError extends RoarError {
  constructor() {
    super("roar is not initialized here — run 'roar init'");
  }
}

/**
 * The same failure with another exit status (`roar run` / `roar build` exit 125 for their own failures); anything
 * that is not a RoarError becomes an internal error, keeping the original as `cause` for ROAR_DEBUG.
 */
export function asRoarFailure(error: unknown, exitCode: number): RoarError {
  if (error instanceof RoarError) {
    if (error.exitCode === exitCode) return error;
    const copy = new RoarError(error.message, exitCode, error.hint);
    copy.cause = error.cause;
    return copy;
  }
  const message = error instanceof Error ? error.message : String(error);
  const failure = new RoarError(`internal error: ${message}`, exitCode);
  failure.cause = error;
  return failure;
}

/** What an errno of a file-system call means for the user, when it is one of the usual environmental ones. */
export function fsErrorReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return "disk full";
    case "EROFS":
      return "read-only file system";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "EIO":
      return "input/output error";
    default:
      return undefined;
  }
}

let errnoNames: Map<number, string> | null = null;

/** The symbolic name of an errno number ("ENOENT" for 2 on Linux), from the platform's own table. */
export function errnoName(errno: number): string | undefined {
  if (!errnoNames) {
    errnoNames = new Map();
    // a few numbers have two names (EAGAIN/EWOULDBLOCK): the first, the usual one, wins
    for (const [name, value] of Object.entries(constants.errno))
      if (!errnoNames.has(value)) errnoNames.set(value, name);
  }
  return errnoNames.get(errno);
}
