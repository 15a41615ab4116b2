/**
 * Secrets redacted from a whole document: every string of user data, argv as command lines, env tables by name;
 * digests and uids untouched. Each value a redaction changed is reported to `observe` (what `roar register` lists
 * before anything is sent). `show` is applied to every string after redaction (the terminal presenter escapes
 * control characters there). Pure.
 */
import type { SecretDetector } from "./secrets.ts";

/** Keys whose values roar generated itself (digests, uids, commits): never user data, never redacted. */
const GENERATED = new Set([
  "blake3",
  "currentBlake3",
  "digests",
  "uid",
  "jobUid",
  "sessionId",
  "producerUid",
  "producerJobUid",
  "commit",
  "gitCommitStart",
  "patch",
  "recorded",
  "reproduced",
]);

/** Keys holding an argv (a list of strings redacted as one command line). */
const ARGV = new Set(["command", "argv"]);

/** A value the detector changed (for `roar register`, which reports what it redacts before anything is sent). */
export interface Redaction {
  kind: "text" | "argv" | "env";
  /** The document key the value sat under, when it came through doc(). */
  key: string | undefined;
  before: string | readonly string[] | Readonly<Record<string, unknown>>;
}

export class DocumentRedactor {
  private key: string | undefined;

  constructor(
    private readonly secrets: SecretDetector,
    /** Told of every value a redaction changed. */
    private readonly observe?: (change: Redaction) => void,
    /** Applied to every string after redaction; none for JSON, which stays exact. */
    private readonly show?: (text: string) => string,
  ) {}

  /** One string of user data (a path, a name, a URL). */
  text(value: string): string {
    const redacted = this.secrets.redactText(value);
    if (redacted !== value) this.observe?.({ kind: "text", key: this.key, before: value });
    return this.show ? this.show(redacted) : redacted;
  }

  /** A command line, element by element (`--password hunter2` → `--password <redacted>`). */
  argv(argv: readonly string[]): string[] {
    const redacted = this.secrets.redactArgv(argv);
    if (redacted.some((a, i) => a !== argv[i])) this.observe?.({ kind: "argv", key: this.key, before: argv });
    const show = this.show;
    return show ? redacted.map((a) => show(a)) : redacted;
  }

  /** An env table: secret-named values redacted whole. */
  env(env: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const redacted = this.secrets.redactEnv(env);
    if (Object.entries(redacted).some(([k, v]) => v !== env[k]))
      this.observe?.({ kind: "env", key: this.key, before: env });
    const show = this.show;
    if (!show) return redacted;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(redacted)) out[show(k)] = typeof v === "string" ? show(v) : v;
    return out;
  }

  /**
   * The plain JSON-like document with every string of user data presented: arrays under `command` / `argv` as
   * argv, objects under `env` as env tables, digests and uids untouched. Parts that nothing changed are returned
   * as they are, not copied (a big DAG document is mostly such parts); callers present a view they built and do
   * not change it afterwards.
   */
  doc<T>(value: T): T {
    const out = this.walk(value, undefined) as T;
    this.key = undefined;
    return out;
  }

  private walk(value: unknown, key: string | undefined): unknown {
    this.key = key;
    if (typeof value === "string") return key !== undefined && GENERATED.has(key) ? value : this.text(value);
    if (Array.isArray(value)) {
      if (key !== undefined && ARGV.has(key) && value.every((v) => typeof v === "string")) return this.argv(value);
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const shown = this.walk(item, undefined);
        if (shown !== item && !out) out = value.slice(0, i);
        out?.push(shown);
      }
      return out ?? value;
    }
    if (value === null || typeof value !== "object" || !isPlain(value)) return value;
    if (key === "env") return this.env(value as Record<string, unknown>);
    if (key !== undefined && GENERATED.has(key)) return value;
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const shown = this.walk(v, k);
      if (shown !== v && !out) out = { ...(value as Record<string, unknown>) };
      if (out) out[k] = shown;
    }
    return out ?? value;
  }
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
