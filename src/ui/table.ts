/** Small text-layout helpers for the query commands: columns, truncation, times, durations, shell quoting. */
import { REDACTED } from "../core/secrets.ts";

const ANSI = /\x1b\[[0-9;]*m/g;

/** Visible width of a string (ANSI colour codes do not count). */
export function visibleLength(text: string): number {
  return text.replace(ANSI, "").length;
}

/** Cuts plain text to `width` characters, ending with "…" when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width === 1) return "…";
  return `${text.slice(0, width - 1)}…`;
}

export function padEnd(text: string, width: number): string {
  const n = visibleLength(text);
  return n >= width ? text : text + " ".repeat(width - n);
}

export function padStart(text: string, width: number): string {
  const n = visibleLength(text);
  return n >= width ? text : " ".repeat(width - n) + text;
}

/** Width available for one line: the terminal's columns, $COLUMNS, else 120 (pipes and files). */
export function terminalWidth(stream: { columns?: number; isTTY?: boolean } = process.stdout): number {
  if (stream.isTTY && stream.columns && stream.columns > 20) return stream.columns;
  const env = Number(process.env.COLUMNS);
  if (Number.isFinite(env) && env > 20) return env;
  return 120;
}

/** `45.5s`, `2m 5s`, `1h 2m`, `120ms`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}m`;
}

const two = (n: number) => String(n).padStart(2, "0");

/** Local `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `1.2 KB`, `3.4 MB`. */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "-";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Joins an argv the way a POSIX shell would read it back. The `<redacted>` marker is left unquoted: a
 * redacted command line is for reading, and `--password '<redacted>'` would suggest a literal value.
 */
export function shellJoin(argv: readonly string[]): string {
  return argv
    .map((a) => (a !== "" && SAFE.test(a.replaceAll(REDACTED, "_")) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** Left-aligned columns (the last column is not padded); `align` marks right-aligned columns. */
export function table(
  rows: readonly (readonly string[])[],
  options: { gap?: number; right?: number[] } = {},
): string[] {
  const gap = " ".repeat(options.gap ?? 2);
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, visibleLength(row[i] as string));
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1 && !options.right?.includes(i)) return cell;
        return options.right?.includes(i) ? padStart(cell, widths[i] ?? 0) : padEnd(cell, widths[i] ?? 0);
      })
      .join(gap)
      .trimEnd(),
  );
}
