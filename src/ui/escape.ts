/**
 * Terminal-safe text: user data (argv, paths, names, cwd) printed for a person must not move the cursor, set
 * the terminal title or break a table row. Control characters become visible escapes; `--json` output is
 * exact and never goes through here (JSON escaping already covers it).
 */

/**
 * C0 controls, DEL, C1 controls (U+0080–U+009F), the Unicode line/paragraph separators and bidirectional
 * overrides/isolates, and lone surrogates (bytes of a file name that were not UTF-8, see shared/paths.ts).
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;

const NAMED: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r" };

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x80) return `\\x${code.toString(16).padStart(2, "0")}`;
  // A surrogate escape stands for one raw byte (U+DC80–U+DCFF ⇒ 0x80–0xFF), shown like displayPath does.
  if (code >= 0xdc80 && code <= 0xdcff) return `\\x${(code - 0xdc00).toString(16)}`;
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every unsafe character shown as `\n`, `\t`, `\x1b`, `\u009b`…; printable text unchanged. */
export function visible(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}
