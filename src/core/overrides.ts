/**
 * `roar run @N --key=value --key value ...`: parameter overrides applied to the stored argv *tokens* (never to a
 * joined command string, so quoted values with spaces survive). Only `--long` options can be overridden.
 */
import { RoarError, UsageError } from "../shared/errors.ts";
import { parseStepRef, type StepRef } from "./refs.ts";

export interface Override {
  /** The option as written, with its dashes: `--epochs`. */
  key: string;
  value: string;
}

/** An option token (not `-`, `--` or a negative number). */
function isOption(token: string): boolean {
  return token.startsWith("-") && token !== "-" && token !== "--" && !/^-\d/.test(token);
}

/** `--key=value` / `--key value` tokens → overrides; a short flag or positional token is an error. */
export function parseOverrides(tokens: readonly string[]): Override[] {
  const out: Override[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token.startsWith("--") && token.length > 2) {
      const eq = token.indexOf("=");
      if (eq > 2) {
        out.push({ key: token.slice(0, eq), value: token.slice(eq + 1) });
        continue;
      }
      if (eq === 2) throw new UsageError(`invalid override '${token}': expected --key=value or --key value`);
      const next = tokens[i + 1];
      if (next === undefined || isOption(next) || next.startsWith("@")) {
        throw new UsageError(`override ${token} needs a value: use ${token}=VALUE or ${token} VALUE`);
      }
      out.push({ key: token, value: next });
      i++;
      continue;
    }
    if (isOption(token)) {
      throw new UsageError(
        `cannot override short option '${token}': only --long options can be overridden`,
        "hint: run the changed command itself with 'roar run <command>'",
      );
    }
    throw new UsageError(
      `cannot override positional argument '${token}': only --long options can be overridden`,
      "hint: run the changed command itself with 'roar run <command>'",
    );
  }
  return out;
}

/**
 * Applies overrides to an argv: every `--key=v` becomes `--key=value`, every `--key v` becomes `--key value`
 * (a bare `--key` flag becomes `--key=value`); an option not present is appended as `--key=value`. The program
 * (argv[0]) is never touched. Returns a new array.
 */
export function applyOverrides(argv: readonly string[], overrides: readonly Override[]): string[] {
  const out = [...argv];
  for (const { key, value } of overrides) {
    let found = false;
    for (let i = 1; i < out.length; i++) {
      const token = out[i] as string;
      if (token.startsWith(`${key}=`)) {
        out[i] = `${key}=${value}`;
        found = true;
      } else if (token === key) {
        const next = out[i + 1];
        if (next !== undefined && !isOption(next)) {
          out[i + 1] = value;
          i++;
        } else {
          out[i] = `${key}=${value}`;
        }
        found = true;
      }
    }
    if (!found) out.push(`${key}=${value}`);
  }
  return out;
}

/** Whether `key` appears in argv (after the program) as `key`, or `key=…`. */
function hasOption(argv: readonly string[], key: string): boolean {
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === key || token.startsWith(`${key}=`)) return true;
  }
  return false;
}

/** Overrides naming an option the argv does not have (applyOverrides would append them). */
export function absentOverrides(argv: readonly string[], overrides: readonly Override[]): Override[] {
  return overrides.filter((o) => !hasOption(argv, o.key));
}

/** The `--long` options of an argv (names only, in order, once each): what `roar run @N` can override. */
export function longOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith("--") || token.length <= 2) continue;
    const eq = token.indexOf("=");
    const key = eq > 2 ? token.slice(0, eq) : token;
    if (!out.includes(key)) out.push(key);
  }
  return out;
}

export interface RerunArgs {
  ref: StepRef;
  refText: string;
  overrides: Override[];
}

/**
 * The arguments of `roar run @N ...` (after roar's own options): the step reference first, then overrides.
 * Throws when the first token is not a step reference.
 */
export function parseRerunArgs(args: readonly string[]): RerunArgs {
  const refText = args[0];
  if (refText === undefined || !refText.startsWith("@")) {
    throw new RoarError(`expected a step reference (@N or @BN), got '${refText ?? ""}'`);
  }
  return { ref: parseStepRef(refText), refText, overrides: parseOverrides(args.slice(1)) };
}
