/**
 * Scalars of the small YAML reader (yaml-lite.ts): plain and quoted, typed by the YAML 1.2 core schema, and
 * one-line flow collections.
 */

export class YamlError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = "YamlError";
  }
}

/** The index of the quote closing the quoted scalar that starts at `start`; -1 when it is never closed. */
export function closingQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (q === '"' && text[i] === "\\") i++;
    else if (text[i] === q) {
      if (q === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** A scalar or flow collection, typed by the YAML 1.2 core schema. */
export function parseScalar(text: string, no: number): unknown {
  const t = text.trim();
  if (t.startsWith("[") || t.startsWith("{")) {
    const flow = new FlowParser(t, no);
    const value = flow.value();
    flow.end();
    return value;
  }
  if (t.startsWith('"') || t.startsWith("'")) {
    const end = closingQuote(t, 0);
    if (end !== t.length - 1) throw new YamlError(`unterminated or trailing text after quoted string: ${t}`, no);
    const body = t.slice(1, -1);
    if (t[0] === "'") return body.replace(/''/g, "'");
    try {
      return JSON.parse(`"${body.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\'/g, "'")}"`);
    } catch {
      return body;
    }
  }
  if (/^[&*!|>%@`]/.test(t)) throw new YamlError(`unsupported YAML syntax: ${t}`, no);
  if (NULLS.has(t)) return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (INT.test(t)) return Number(t);
  if (/^0x[0-9a-fA-F]+$/.test(t)) return Number.parseInt(t.slice(2), 16);
  if (/^0o[0-7]+$/.test(t)) return Number.parseInt(t.slice(2), 8);
  if (FLOAT.test(t)) return Number(t);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(t)) return Number.NaN;
  return t;
}

/** `[a, b, {k: v}]` / `{k: [1, 2]}` on one line. */
class FlowParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly no: number,
  ) {}

  private ws(): void {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }

  end(): void {
    this.ws();
    if (this.i < this.s.length) throw new YamlError(`unexpected text after flow collection: ${this.s}`, this.no);
  }

  value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === "[") return this.sequence();
    if (c === "{") return this.mapping();
    if (c === '"' || c === "'") {
      const end = closingQuote(this.s, this.i);
      if (end < 0) throw new YamlError(`unterminated string: ${this.s}`, this.no);
      const text = this.s.slice(this.i, end + 1);
      this.i = end + 1;
      return parseScalar(text, this.no);
    }
    const start = this.i;
    while (this.i < this.s.length && !",]}".includes(this.s[this.i] as string)) {
      if (this.s[this.i] === ":" && /[\s,\]}]/.test(this.s[this.i + 1] ?? " ")) break;
      this.i++;
    }
    return parseScalar(this.s.slice(start, this.i), this.no);
  }

  private expect(c: string): void {
    this.ws();
    if (this.s[this.i] !== c) throw new YamlError(`expected '${c}' in ${this.s}`, this.no);
    this.i++;
  }

  private sequence(): unknown[] {
    const out: unknown[] = [];
    this.expect("[");
    this.ws();
    while (this.s[this.i] !== "]") {
      out.push(this.value());
      this.ws();
      if (this.s[this.i] === ",") this.i++;
      else if (this.s[this.i] !== "]") throw new YamlError(`expected ',' or ']' in ${this.s}`, this.no);
      this.ws();
    }
    this.i++;
    return out;
  }

  private mapping(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.expect("{");
    this.ws();
    while (this.s[this.i] !== "}") {
      const key = String(this.value());
      this.expect(":");
      out[key] = this.value();
      this.ws();
      if (this.s[this.i] === ",") this.i++;
      else if (this.s[this.i] !== "}") throw new YamlError(`expected ',' or '}' in ${this.s}`, this.no);
      this.ws();
    }
    this.i++;
    return out;
  }
}
