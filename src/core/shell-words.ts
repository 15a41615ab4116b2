import { REDACTED } from "./secrets.ts";
/**
 * A command line split into words as a POSIX shell would (quotes, backslashes; no expansion): how a job that was
 * registered with only its command string (by another client) gets an argv back. Pure.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end < 0 ? line.length : end;
      word += line.slice(i + 1, stop);
      inWord = true;
      i = stop + 1;
    } else if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1] as string)) i++;
        word += line[i];
        i++;
      }
      inWord = true;
      i++;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
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
