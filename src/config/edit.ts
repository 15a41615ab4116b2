/**
 * Minimal, comment-preserving edits of a TOML document: set or remove one dotted key, leaving every other
 * line (comments, ordering, other keys) byte-for-byte intact. The result is re-parsed and checked before
 * it is returned, so a bad edit can never be written.
 */
import { parse } from "smol-toml";

const HEADER = /^\s*\[(?!\[)\s*([^\]]+?)\s*\]\s*(#.*)?$/;
const KEY_LINE = /^(\s*)([A-Za-z0-9_.\-"' ]+?)\s*=/;
const COMMENTED_KEY = /^\s*#\s*([A-Za-z0-9_.-]+)\s*=/;

function normalizeKey(raw: string): string {
  return raw
    .split(".")
    .map((p) => p.trim().replace(/^["']|["']$/g, ""))
    .join(".");
}

interface Section {
  name: string; // "" = root
  start: number; // index of the header line (-1 for root)
  end: number; // exclusive
}

function sections(lines: string[]): Section[] {
  const out: Section[] = [{ name: "", start: -1, end: lines.length }];
  lines.forEach((line, i) => {
    const m = HEADER.exec(line);
    if (!m) return;
    const prev = out[out.length - 1];
    if (prev) prev.end = i;
    out.push({ name: normalizeKey(m[1] ?? ""), start: i, end: lines.length });
  });
  return out;
}

/** Index of the last line of a value starting on `start` (multi-line arrays and strings). */
function valueEnd(lines: string[], start: number): number {
  const first = lines[start] ?? "";
  const value = first.slice(first.indexOf("=") + 1);
  if (/^\s*("""|''')/.test(value)) {
    const quote = value.trim().slice(0, 3);
    if (value.trim().length > 3 && value.trim().endsWith(quote)) return start;
    for (let i = start + 1; i < lines.length; i++) if (lines[i]?.includes(quote)) return i;
    return start;
  }
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    const text = i === start ? value : (lines[i] ?? "");
    for (const ch of text.replace(/"(?:\\.|[^"\\])*"|'[^']*'/g, "").replace(/#.*/, "")) {
      if (ch === "[" || ch === "{") depth++;
      if (ch === "]" || ch === "}") depth--;
    }
    if (depth <= 0) return i;
  }
  return start;
}

interface Located {
  line: number;
  last: number;
}

function locate(lines: string[], key: string): Located | undefined {
  for (const section of sections(lines)) {
    if (section.name !== "" && !key.startsWith(`${section.name}.`)) continue;
    const rel = section.name === "" ? key : key.slice(section.name.length + 1);
    for (let i = section.start + 1; i < section.end; i++) {
      const m = KEY_LINE.exec(lines[i] ?? "");
      if (m && !lines[i]?.trimStart().startsWith("#") && normalizeKey(m[2] ?? "") === rel) {
        return { line: i, last: valueEnd(lines, i) };
      }
    }
  }
  return undefined;
}

function lookup(doc: unknown, key: string): unknown {
  let node = doc;
  for (const part of key.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function verified(text: string, key: string, expectPresent: boolean): string {
  const doc = parse(text);
  const present = lookup(doc, key) !== undefined;
  if (present !== expectPresent) throw new Error(`could not ${expectPresent ? "set" : "remove"} ${key} safely`);
  return text;
}

/** Sets `key` (dotted) to the TOML literal `valueToml`. */
export function setTomlKey(text: string, key: string, valueToml: string): string {
  const lines = text.split("\n");
  const table = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : "";
  const leaf = key.slice(key.lastIndexOf(".") + 1);
  const found = locate(lines, key);
  if (found) {
    const m = KEY_LINE.exec(lines[found.line] ?? "");
    const rest = (lines[found.last] ?? "").match(/\s+#[^"']*$/)?.[0] ?? "";
    const keyText = (lines[found.line] ?? "").slice(0, (lines[found.line] ?? "").indexOf("="));
    lines.splice(found.line, found.last - found.line + 1, `${keyText.trimEnd()} = ${valueToml}${rest}`);
    void m;
    return verified(lines.join("\n"), key, true);
  }
  const section = sections(lines).find((s) => s.name === table && (table !== "" || s.start === -1));
  const newLine = `${leaf} = ${valueToml}`;
  if (section && (section.start >= 0 || table === "")) {
    // After a commented-out template line for this key if there is one, else at the end of the table body.
    let at = -1;
    for (let i = section.start + 1; i < section.end; i++) {
      if (COMMENTED_KEY.exec(lines[i] ?? "")?.[1] === leaf) at = i + 1;
    }
    if (at < 0) {
      at = section.end;
      while (at > section.start + 1 && (lines[at - 1] ?? "").trim() === "") at--;
    }
    lines.splice(at, 0, newLine);
    return verified(lines.join("\n"), key, true);
  }
  // The table exists only through dotted keys (`output.quiet = true` at the top): add a dotted key beside them,
  // since a new [table] header would redefine it.
  if (table !== "" && lookup(parse(text), table) !== undefined) {
    const root = sections(lines)[0] as Section;
    let at = root.end;
    while (at > 0 && (lines[at - 1] ?? "").trim() === "") at--;
    lines.splice(at, 0, `${key} = ${valueToml}`);
    return verified(lines.join("\n"), key, true);
  }
  let body = lines.join("\n");
  if (body.length > 0 && !body.endsWith("\n")) body += "\n";
  if (body.length > 0 && !body.endsWith("\n\n")) body += "\n";
  return verified(`${body}[${table}]\n${newLine}\n`, key, true);
}

/** Removes `key`; returns the text unchanged when the key is not set. */
export function removeTomlKey(text: string, key: string): string {
  const lines = text.split("\n");
  const found = locate(lines, key);
  if (!found) return text;
  lines.splice(found.line, found.last - found.line + 1);
  return verified(lines.join("\n"), key, false);
}
