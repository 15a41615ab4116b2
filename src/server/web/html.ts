/**
 * HTML built with one tagged template: every interpolated value is escaped unless it is already `Html` (made by
 * the template itself or by `trusted` for markup the server generated, such as an SVG whose text was escaped).
 * So a user's string can only reach a page as text.
 */
import { printable } from "../../ui/dag-picture.ts";

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Text or attribute value: markup characters as entities, control characters replaced. */
export function escapeHtml(text: string): string {
  return printable(text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

/** Markup the server produced itself (never user text). */
export const trusted = (markup: string) => new Html(markup);

/** A URL path segment. */
export const seg = (text: string) => encodeURIComponent(text);

/** A query string from the non-empty entries. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
