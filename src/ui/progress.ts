/**
 * A one-line byte progress bar for transfers, drawn on stderr only when it is a terminal (redrawn at most every
 * 100 ms, erased when done); elsewhere every call is a no-op, so piped output and logs stay clean.
 */
import { formatSize } from "../core/units.ts";

export interface Progress {
  /** Bytes moved since the last call (negative when a restarted download discards some). */
  add(delta: number): void;
  /** A file finished. */
  fileDone(): void;
  /** Erases the bar. */
  done(): void;
}

const NOOP: Progress = { add() {}, fileDone() {}, done() {} };

interface Terminal {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** The bar's text for a moment of the transfer (exported for tests). */
export function progressLine(
  label: string,
  bytes: number,
  total: number | null,
  files: { done: number; total: number },
  elapsedMs: number,
  width: number,
): string {
  const rate = elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0;
  const counts = files.total > 1 ? ` ${files.done}/${files.total} files` : "";
  const sizes = total ? `${formatSize(bytes)} / ${formatSize(total)}` : formatSize(bytes);
  const tail = ` ${sizes}${counts}  ${formatSize(rate)}/s`;
  if (!total) return `${label}${tail}`.slice(0, width - 1);
  const fraction = Math.min(1, Math.max(0, bytes / total));
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 9));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${percent}${tail}`.slice(0, width - 1);
}

export function progressBar(
  stream: Terminal,
  label: string,
  totalBytes: number | null,
  totalFiles: number,
  now: () => number = () => performance.now(),
): Progress {
  if (!stream.isTTY) return NOOP;
  const started = now();
  let bytes = 0;
  let files = 0;
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - last < 100) return;
    last = t;
    const line = progressLine(
      label,
      bytes,
      totalBytes,
      { done: files, total: totalFiles },
      t - started,
      stream.columns && stream.columns > 20 ? stream.columns : 80,
    );
    stream.write(`\r\x1b[K${line}`);
    shown = true;
  };
  return {
    add(delta) {
      bytes += delta;
      draw(false);
    },
    fileDone() {
      files++;
      draw(false);
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
