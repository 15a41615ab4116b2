/** Small text-layout helpers for the query commands: columns, truncation by display width, times. */
import { localTime } from "../shared/local-time.ts";
import { stdout } from "./std-streams.ts";

/*
 * Widths are display columns (Bun.stringWidth): ANSI colour codes take none, CJK and emoji take two, so
 * columns of non-ASCII paths stay aligned.
 */

/** Made when first needed: ICU's segmenter data costs ~2 ms to load, and most commands never cut text. */
let graphemes: Intl.Segmenter | undefined;

/** Cuts plain text to `width` display columns, ending with "…" when cut (never inside a character). */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (Bun.stringWidth(text) <= width) return text;
  if (width === 1) return "…";
  let kept = "";
  let used = 0;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const { segment } of graphemes.segment(text)) {
    const w = Bun.stringWidth(segment);
    if (used + w > width - 1) break;
    kept += segment;
    used += w;
  }
  return `${kept}…`;
}

export function padEnd(text: string, width: number): string {
  const n = Bun.stringWidth(text);
  return n >= width ? text : text + " ".repeat(width - n);
}

export function padStart(text: string, width: number): string {
  const n = Bun.stringWidth(text);
  return n >= width ? text : " ".repeat(width - n) + text;
}

/** Width available for one line: the terminal's columns, $COLUMNS, else 120 (pipes and files). */
export function terminalWidth(stream: { columns?: number; isTTY?: boolean } = stdout): number {
  if (stream.isTTY && stream.columns && stream.columns > 20) return stream.columns;
  const env = Number(process.env.COLUMNS);
  if (Number.isFinite(env) && env > 20) return env;
  return 120;
}

const two = (n: number) => String(n).padStart(2, "0");

/** Local `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(ms: number): string {
  const t = localTime(ms);
  return `${t.year}-${two(t.month)}-${two(t.day)} ${two(t.hour)}:${two(t.minute)}:${two(t.second)}`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Left-aligned columns (the last column is not padded); `align` marks right-aligned columns. */
export function table(
  rows: readonly (readonly string[])[],
  options: { gap?: number; right?: number[] } = {},
): string[] {
  const gap = " ".repeat(options.gap ?? 2);
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, Bun.stringWidth(row[i] as string));
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
