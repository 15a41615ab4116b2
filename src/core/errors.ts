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

export class NotInitializedError extends RoarError {
  constructor() {
    super("roar is not initialized here — run 'roar init'");
  }
}
