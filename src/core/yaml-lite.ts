/**
 * A small YAML reader for the parameter files `roar diff` compares: block mappings and sequences (nested by
 * indentation, `- key: value` items included), flow `[a, b]` / `{k: v}` collections, quoted and plain
 * scalars with YAML 1.2 core types, `|` / `>` block scalars and comments. Anchors, aliases, tags and multiple
 * documents are not supported: they raise a YamlError, and the caller reports the content as not comparable
 * rather than guessing. (No YAML library is a dependency; params files rarely go beyond this subset.)
 * Block structure here; scalars and flow collections in yaml-scalar.ts.
 */
import { closingQuote, parseScalar, YamlError } from "./yaml-scalar.ts";

export { YamlError };

interface Line {
  /** 1-based line number in the source. */
  no: number;
  indent: number;
  text: string;
}

/** Drops a ` # comment` (not inside quotes). */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      // A quote opens a quoted scalar only at the start of a value.
      const before = text.slice(0, i).trimEnd();
      if (before === "" || /[:\-[{,]$/.test(before)) quote = c;
    } else if (c === "#" && (i === 0 || text[i - 1] === " " || text[i - 1] === "\t")) {
      return text.slice(0, i).trimEnd();
    }
  }
  return text.trimEnd();
}

class Reader {
  private pos = 0;
  constructor(
    readonly lines: Line[],
    readonly raw: string[],
  ) {}

  peek(): Line | undefined {
    return this.lines[this.pos];
  }

  next(): Line {
    return this.lines[this.pos++] as Line;
  }

  /** Replaces the current line (used to parse `- key: v` as a mapping starting inside the item). */
  replace(line: Line): void {
    this.lines[this.pos] = line;
  }
}

export function parseYaml(source: string): unknown {
  const raw = source.replace(/^\uFEFF/, "").split(/\r?\n/);
  const lines: Line[] = [];
  let started = false;
  for (let i = 0; i < raw.length; i++) {
    const full = raw[i] as string;
    const text = stripComment(full);
    if (text.trim() === "") continue;
    if (/^(---|\.\.\.)(\s|$)/.test(text)) {
      if (text.startsWith("---") && started) throw new YamlError("multiple documents are not supported", i + 1);
      started = true;
      if (text.slice(3).trim() !== "") throw new YamlError("content after '---' is not supported", i + 1);
      continue;
    }
    const indent = /^ */.exec(text)?.[0].length ?? 0;
    if (text[indent] === "\t") throw new YamlError("tabs are not allowed in indentation", i + 1);
    started = true;
    lines.push({ no: i + 1, indent, text: text.slice(indent) });
  }
  if (lines.length === 0) return null;
  const reader = new Reader(lines, raw);
  const first = reader.peek() as Line;
  const value = parseNode(reader, first.indent);
  const rest = reader.peek();
  if (rest) throw new YamlError("unexpected indentation", rest.no);
  return value;
}

function isSeqItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

function parseNode(r: Reader, indent: number): unknown {
  const line = r.peek() as Line;
  if (isSeqItem(line.text)) return parseSequence(r, line.indent);
  if (splitKey(line.text, line.no) === null) {
    // A lone scalar document (or flow collection).
    r.next();
    return parseScalar(line.text, line.no);
  }
  return parseMapping(r, Math.max(indent, line.indent));
}

function parseSequence(r: Reader, indent: number): unknown[] {
  const out: unknown[] = [];
  for (let line = r.peek(); line && line.indent === indent && isSeqItem(line.text); line = r.peek()) {
    const rest = line.text.slice(1).trimStart();
    if (rest === "") {
      r.next();
      const child = r.peek();
      out.push(child && child.indent > indent ? parseNode(r, child.indent) : null);
      continue;
    }
    const column = indent + line.text.length - rest.length;
    if (isSeqItem(rest) || splitKey(rest, line.no) !== null) {
      r.replace({ no: line.no, indent: column, text: rest });
      out.push(parseNode(r, column));
      continue;
    }
    r.next();
    out.push(parseValue(r, rest, indent, line.no));
  }
  return out;
}

function parseMapping(r: Reader, indent: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let line = r.peek(); line && line.indent === indent && !isSeqItem(line.text); line = r.peek()) {
    const kv = splitKey(line.text, line.no);
    if (!kv) throw new YamlError(`expected 'key: value', got '${line.text}'`, line.no);
    r.next();
    const [key, rest] = kv;
    if (Object.hasOwn(out, key)) throw new YamlError(`duplicate key '${key}'`, line.no);
    if (rest === "") {
      const child = r.peek();
      // `key:` then a deeper block, or a sequence at the same indentation (`key:\n- a`).
      if (child && (child.indent > indent || (child.indent === indent && isSeqItem(child.text)))) {
        out[key] = parseNode(r, child.indent);
      } else out[key] = null;
    } else out[key] = parseValue(r, rest, indent, line.no);
  }
  return out;
}

/** The value after `key:` or `- `: a block scalar, or a scalar that may continue on deeper lines. */
function parseValue(r: Reader, rest: string, indent: number, no: number): unknown {
  const block = /^([|>])([+-]?)\d*$/.exec(rest);
  if (block) return blockScalar(r, indent, no, block[1] === ">", block[2] as string);
  let text = rest;
  for (let next = r.peek(); next && next.indent > indent && !/^["'[{]/.test(rest); next = r.peek()) {
    text += ` ${next.text.trim()}`; // a plain scalar folded over several lines
    r.next();
  }
  return parseScalar(text, no);
}

function blockScalar(r: Reader, indent: number, no: number, folded: boolean, chomp: string): string {
  // Block scalars keep their comments and blank lines: read them from the raw source.
  const parts: string[] = [];
  let end = no; // raw index of the next line after the header
  let blockIndent = -1;
  while (end < r.raw.length) {
    const raw = r.raw[end] as string;
    const ind = /^ */.exec(raw)?.[0].length ?? 0;
    if (raw.trim() !== "") {
      if (ind <= indent) break;
      if (blockIndent < 0) blockIndent = ind;
      if (ind < blockIndent) break;
    }
    parts.push(raw.trim() === "" ? "" : raw.slice(blockIndent));
    end++;
  }
  // Skip the structural lines that fell inside the block.
  for (let line = r.peek(); line && line.no <= end; line = r.peek()) r.next();
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  const body = folded ? parts.join("\n").replace(/([^\n])\n(?=[^\n ])/g, "$1 ") : parts.join("\n");
  return chomp === "-" ? body : `${body}\n`;
}

/** `key: rest` → [key, rest]; null when the text is not a mapping entry. */
function splitKey(text: string, no: number): [string, string] | null {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = closingQuote(text, 0);
    if (end < 0) return null;
    const after = text.slice(end + 1);
    const m = /^\s*:(?:\s+(.*)|$)/.exec(after);
    if (!m) return null;
    return [String(parseScalar(text.slice(0, end + 1), no)), (m[1] ?? "").trim()];
  }
  if (/^[[{]/.test(text)) return null;
  const m = /^([^#]*?)\s*:(?:\s+(.*)|$)/.exec(text);
  if (!m || m[1] === "") return null;
  const key = m[1] as string;
  if (/^[&*!?|>%@`]/.test(key)) throw new YamlError(`unsupported YAML syntax in key '${key}'`, no);
  return [key, (m[2] ?? "").trim()];
}
