/** Does this .gitignore text already exclude `.roar/` (an exact line, not a substring)? */
export function gitignoreHasRoar(text: string): boolean {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .some((l) => l === ".roar" || l === ".roar/" || l === "/.roar" || l === "/.roar/");
}

/** The .gitignore text with a `.roar/` line appended (keeping a final newline). */
export function gitignoreWithRoar(text: string): string {
  const base = text.length > 0 && !text.endsWith("\n") ? `${text}\n` : text;
  return `${base}.roar/\n`;
}

const ROAR_LINES = new Set([".roar", ".roar/", "/.roar", "/.roar/"]);

/** The .gitignore text without roar's own lines, blank lines and line-ending differences. */
function withoutRoar(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l !== "" && !ROAR_LINES.has(l.trim()));
}

/**
 * True when `now` differs from `before` (the committed .gitignore, "" when there was none) only by roar's own
 * `.roar/` line (what `roar init` adds): such a change is not an uncommitted change of the user's.
 */
export function onlyRoarLineAdded(before: string, now: string): boolean {
  const a = withoutRoar(before);
  const b = withoutRoar(now);
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
