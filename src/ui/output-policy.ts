/**
 * How a command's output looks, decided once per command (the base command makes it) from its streams, its flags
 * and the configuration: colour per stream, JSON layout per destination, quiet, progress.
 */
import { type Progress, progressBar } from "./progress.ts";
import { colorDisabled, colorEnabled, type Styler, styles } from "./style.ts";

/** What the policy needs of an output stream (a process stream, a test double). */
export interface OutputStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** A file the user named (`--json-file`, `-o`): never a terminal. */
export const FILE_DESTINATION: { readonly isTTY: false } = { isTTY: false };

export interface OutputPolicyInput {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** `--no-color` as the command parsed it (a global one, taken off earlier, counts too). */
  noColor: boolean;
  /** `-q`, `output.quiet` or `output.verbosity = quiet` (they are one setting). */
  quiet: boolean;
}

export class OutputPolicy {
  /** Nothing but the result and errors: no report, no progress, no stale warnings. */
  readonly quiet: boolean;
  readonly noColor: boolean;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  private readonly env: Record<string, string | undefined>;

  constructor(input: OutputPolicyInput) {
    this.quiet = input.quiet;
    this.noColor = input.noColor || colorDisabled();
    this.stdout = input.stdout;
    this.stderr = input.stderr;
    this.env = input.env;
  }

  /** Colour on this stream: a TTY (or FORCE_COLOR), and neither NO_COLOR nor --no-color. */
  colorOn(stream: { isTTY?: boolean }): boolean {
    return !this.noColor && colorEnabled(stream, this.env);
  }

  /** Styling for text written to `stream` (identity functions when colour is off there). */
  styleFor(stream: { isTTY?: boolean }): Styler {
    return styles(this.colorOn(stream));
  }

  get stdoutStyle(): Styler {
    return this.styleFor(this.stdout);
  }

  get stderrStyle(): Styler {
    return this.styleFor(this.stderr);
  }

  /**
   * JSON is laid out for where it goes: indented for a person at a terminal, one compact line for a pipe or a
   * file (programs read those; big DAGs serialise 3× faster).
   */
  prettyJson(destination: { isTTY?: boolean }): boolean {
    return destination.isTTY === true;
  }

  /** Whether progress (hashing counts, transfer bars) is drawn on stderr. */
  get showsProgress(): boolean {
    return !this.quiet && this.stderr.isTTY === true;
  }

  /** A transfer's byte progress bar on stderr; silent when quiet or not a terminal. */
  progress(label: string, totalBytes: number | null, totalFiles: number): Progress {
    return progressBar(
      this.showsProgress ? this.stderr : { isTTY: false, write: () => {} },
      label,
      totalBytes,
      totalFiles,
    );
  }
}
