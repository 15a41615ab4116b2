/**
 * The one secret detector, built from the `registration.omit` settings: the built-in detectors
 * (secret-patterns.ts), custom `[[registration.omit.patterns]]`, literal `secrets.values`, the values of
 * secret-named environment variables, and `allowlist.patterns` (a detected span an allowlist regex matches stays).
 * Everything roar shows or lets leave the machine goes through it; the database keeps the real argv.
 * Pure: settings and environment in, redacted strings out.
 */
import { RoarError } from "../shared/errors.ts";
import {
  BUILTIN_DETECTORS,
  type BuiltinDetector,
  looksSecretName,
  optionNameRegex,
  SECRET_OPTIONS,
} from "./secret-patterns.ts";

export const REDACTED = "<redacted>";

const OPTION_NAMES = SECRET_OPTIONS.map((o) => ({ ...o, name: optionNameRegex(o) }));
const DASH = 45;

/** One pass over a string tells whether any built-in detector can match (most strings printed cannot). */
const ANY_HINT = new RegExp(
  [...new Set(BUILTIN_DETECTORS.flatMap((d) => d.hints ?? []))]
    .map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("|"),
  "i",
);

export interface CustomPattern {
  id: string;
  pattern: string;
  description?: string;
}

/** The `registration.omit` table of the configuration. */
export interface OmitSettings {
  enabled: boolean;
  secrets: { values: string[] };
  env_vars: { names: string[] };
  allowlist: { patterns: string[] };
  patterns: CustomPattern[];
}

export interface SecretFinding {
  id: string;
  start: number;
  end: number;
}

/** Values of secret-named variables shorter than this are not redacted wherever they appear (too common). */
const MIN_ENV_LITERAL = 8;

/**
 * Compiles a user regex; a leading Python-style `(?i)` becomes the `i` flag. A bad one is a one-line error
 * naming the setting.
 */
export function compileUserRegex(source: string, where: string, flags = ""): RegExp {
  let body = source;
  let f = flags;
  const inline = /^\(\?([imsx]+)\)/.exec(body);
  if (inline) {
    body = body.slice(inline[0].length);
    f += (inline[1] as string).replace(/[^ims]/g, "");
  }
  try {
    return new RegExp(body, [...new Set(f)].join(""));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RoarError(`invalid regular expression in ${where}: ${reason}`);
  }
}

export class SecretDetector {
  /** False: output is shown as recorded (registration.omit.enabled = false). Stored env stays redacted. */
  readonly enabled: boolean;
  private readonly custom: BuiltinDetector[];
  private readonly allowlist: RegExp[];
  private readonly literals: string[];
  private readonly names: Set<string>;

  /**
   * `env`: the environments whose secret-named values are redacted wherever they appear (the process
   * environment and the project's [env]), when at least 8 characters long.
   */
  constructor(settings: OmitSettings, env: readonly Record<string, string | undefined>[] = []) {
    this.enabled = settings.enabled;
    this.names = new Set(settings.env_vars.names.map((n) => n.toUpperCase()));
    this.custom = settings.patterns.map((p, i) => ({
      id: p.id || `custom_${i}`,
      regex: compileUserRegex(p.pattern, `registration.omit.patterns (id '${p.id}')`, "dg"),
    }));
    this.allowlist = settings.allowlist.patterns
      .filter((p) => p !== "")
      .map((p) => compileUserRegex(p, "registration.omit.allowlist.patterns"));
    const literals = new Set(settings.secrets.values.filter((v) => v !== ""));
    for (const vars of env) {
      for (const [name, value] of Object.entries(vars)) {
        if (value !== undefined && value.length >= MIN_ENV_LITERAL && this.isSecretName(name)) literals.add(value);
      }
    }
    // Longest first, so a literal containing another is redacted whole.
    this.literals = [...literals].sort((a, b) => b.length - a.length);
  }

  /** A variable whose value is a secret: listed in env_vars.names, or named like one (see looksSecretName). */
  isSecretName(name: string): boolean {
    return this.names.has(name.toUpperCase()) || looksSecretName(name);
  }

  /** Every secret span in `text` (allowlisted ones left out), in order; ignores `enabled`. */
  find(text: string): SecretFinding[] {
    if (text === "") return [];
    const found: SecretFinding[] = [];
    for (const literal of this.literals) {
      for (let at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + literal.length)) {
        found.push({ id: "explicit_secret", start: at, end: at + literal.length });
      }
    }
    if (ANY_HINT.test(text)) {
      const lower = text.toLowerCase();
      for (const d of BUILTIN_DETECTORS) {
        if (!d.hints || d.hints.some((h) => lower.includes(h))) this.scan(d, text, found);
      }
    }
    for (const d of this.custom) this.scan(d, text, found);
    return found.sort((a, b) => a.start - b.start || b.end - a.end);
  }

  private scan(d: BuiltinDetector, text: string, found: SecretFinding[]): void {
    d.regex.lastIndex = 0;
    for (const m of text.matchAll(d.regex)) {
      if (m[0] === "") continue;
      if (d.needsSecretName && !this.isSecretName(m.groups?.name ?? "")) continue;
      const groups = m.indices?.groups;
      const spans: [number, number][] = [];
      for (const key of ["v1", "v2", "v3"]) {
        const span = groups?.[key];
        if (span) spans.push(span);
      }
      if (spans.length === 0) spans.push(m.indices?.[0] ?? [m.index ?? 0, (m.index ?? 0) + m[0].length]);
      for (const [start, end] of spans) {
        if (end <= start || this.allowed(m[0], text.slice(start, end))) continue;
        found.push({ id: d.id, start, end });
      }
    }
  }

  private allowed(match: string, secret: string): boolean {
    return this.allowlist.some((a) => a.test(secret) || a.test(match));
  }

  /** The ids of the detectors that fire on `text`, once each. */
  ids(text: string): string[] {
    return [...new Set(this.find(text).map((f) => f.id))];
  }

  /** `text` with each detected span replaced by `<redacted>` (overlapping spans merged); as is when disabled. */
  redactText(text: string): string {
    return this.enabled ? replaceSpans(text, this.find(text)) : text;
  }

  /**
   * An argv for display: each element redacted as text, and the element after a secret option given on its
   * own (`--password`, `hunter2`) redacted whole.
   */
  redactArgv(argv: readonly string[]): string[] {
    if (!this.enabled) return [...argv];
    const out = argv.map((a) => this.redactText(a));
    for (let i = 0; i + 1 < argv.length; i++) {
      const option = argv[i] as string;
      // Every secret option starts with a dash: most elements (programs, paths, values) need no regex.
      if (option.charCodeAt(0) !== DASH) continue;
      const value = argv[i + 1] as string;
      const secret = OPTION_NAMES.find((o) => o.name.test(option));
      if (secret && value.length >= secret.minLength && !this.allowed(`${option} ${value}`, value)) {
        out[i + 1] = REDACTED;
      }
    }
    return out;
  }

  /** An env table for display: secret-named values redacted whole, others redacted as text. */
  redactEnv(env: Readonly<Record<string, unknown>>): Record<string, unknown> {
    if (!this.enabled) return { ...env };
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== "string") out[name] = value;
      else out[name] = value !== REDACTED && this.isSecretName(name) ? REDACTED : this.redactText(value);
    }
    return out;
  }

  /**
   * The [env] table as stored with a job: a value is stored as `<redacted>` when its name looks secret or
   * it contains a detected secret — always, whatever `enabled` says, since the database outlives the setting.
   */
  storedEnv(env: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      out[name] = this.isSecretName(name) || this.find(value).length > 0 ? REDACTED : value;
    }
    return out;
  }
}

function replaceSpans(text: string, spans: readonly SecretFinding[]): string {
  if (spans.length === 0) return text;
  let out = "";
  let at = 0;
  for (const s of spans) {
    if (s.end <= at) continue;
    if (s.start >= at) out += text.slice(at, s.start) + REDACTED;
    at = Math.max(at, s.end);
  }
  return out + text.slice(at);
}

/**
 * The detector of a loaded configuration: its `registration.omit` settings, plus the values of secret-named
 * variables of the process environment and of the project's [env], redacted wherever they appear.
 */
export function secretDetector(
  config: { registration: { omit: OmitSettings }; env: Record<string, string> },
  processEnv: Record<string, string | undefined> = {},
): SecretDetector {
  return new SecretDetector(config.registration.omit, [processEnv, config.env]);
}
