/**
 * The one place that decides about colour: only on a TTY, never with NO_COLOR set (any value, per
 * no-color.org) or after a global --no-color.
 */
import { stdout } from "./std-streams.ts";

let colorDisabledByFlag = false;

export function disableColor(): void {
  colorDisabledByFlag = true;
}

/** Whether a global --no-color was given (main.ts takes it off the command line before parsing). */
export function colorDisabled(): boolean {
  return colorDisabledByFlag;
}

export function colorEnabled(
  stream: { isTTY?: boolean } = stdout,
  env: Record<string, string | undefined> = process.env,
): boolean {
  if (colorDisabledByFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true;
}

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
  grey: [90, 39],
} as const;

export type StyleName = keyof typeof codes;

export type Styler = Record<StyleName, (text: string) => string>;

/** Styling functions for one output stream; identity functions when colour is off. */
export function styler(stream: { isTTY?: boolean } = stdout): Styler {
  return styles(colorEnabled(stream));
}

/** Styling functions that colour (`on`) or are the identity. */
export function styles(on: boolean): Styler {
  const entries = Object.entries(codes).map(([name, [open, close]]) => [
    name,
    on ? (text: string) => `\x1b[${open}m${text}\x1b[${close}m` : (text: string) => text,
  ]);
  return Object.fromEntries(entries) as Styler;
}
