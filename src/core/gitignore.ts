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
