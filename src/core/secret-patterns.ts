/**
 * The built-in secret detectors (ids as in the original's `roar/filters/omit.py`, plus a few provider formats it
 * lacked). A detector redacts its whole match, or only its named groups `v1`/`v2`/`v3` when it has them (the
 * value after `--password`, the user:password of a URL). `hints` are lower-case substrings one of which must
 * occur for the regex to be worth running: most strings roar prints (paths, digests) skip every regex.
 */

export interface BuiltinDetector {
  id: string;
  regex: RegExp;
  hints?: readonly string[];
  /** Only for env_var_assignment: the assignment's NAME must look secret. */
  needsSecretName?: boolean;
}

/** Command-line options whose value is a secret: the value of `--password x`, `--password=x`, `--token "x"`. */
export interface SecretOption {
  id: string;
  /** Regex source of the option name without dashes. */
  names: string;
  /** Shortest value taken for a secret (the original's thresholds: 16 for keys and tokens). */
  minLength: number;
  hints: readonly string[];
}

export const SECRET_OPTIONS: readonly SecretOption[] = [
  { id: "generic_api_key_arg", names: "api[-_]?key", minLength: 16, hints: ["api"] },
  { id: "generic_token_arg", names: "(?:auth[-_]?|access[-_]?)?token", minLength: 16, hints: ["token"] },
  { id: "generic_password_arg", names: "password|passwd|pwd", minLength: 1, hints: ["passw", "pwd"] },
  { id: "generic_secret_arg", names: "secret|secret[-_]?key|client[-_]?secret", minLength: 1, hints: ["secret"] },
];

/** `--name` / `-name` not preceded by a word character or dash (so `--max-token` is not `-token`). */
export function optionRegex(o: SecretOption): RegExp {
  const n = o.minLength;
  return new RegExp(
    `(?<![\\w-])--?(?:${o.names})(?:=|\\s+)(?:"(?<v1>[^"]{${n},})"|'(?<v2>[^']{${n},})'|(?<v3>[^\\s"']{${n},}))`,
    "gid",
  );
}

/** The same option as one whole argv element (`--password`), whose value is the next element. */
export function optionNameRegex(o: SecretOption): RegExp {
  return new RegExp(`^--?(?:${o.names})$`, "i");
}

const URL_USERINFO = "(?<v1>[^\\s:@/]*:[^\\s/]*)@";

export const BUILTIN_DETECTORS: readonly BuiltinDetector[] = [
  { id: "aws_access_key", regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/dg, hints: ["akia", "asia"] },
  {
    id: "aws_secret_key",
    regex: /aws_secret(?:_access_key)?["']?[=:\s]+["']?(?<v1>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/dgi,
    hints: ["aws_secret"],
  },
  { id: "github_token", regex: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/dg, hints: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] },
  { id: "github_pat", regex: /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/dg, hints: ["github_pat_"] },
  { id: "anthropic_key", regex: /\bsk-ant-[A-Za-z0-9_-]{20,}/dg, hints: ["sk-ant-"] },
  {
    // Project/service keys contain - and _; a run of 20 alphanumerics keeps `sk-learn-...` look-alikes out.
    id: "openai_key",
    regex: /\bsk-(?!ant-)(?=[A-Za-z0-9_-]*[A-Za-z0-9]{20})[A-Za-z0-9_-]{20,}/dg,
    hints: ["sk-"],
  },
  { id: "huggingface_token", regex: /\bhf_[A-Za-z0-9]{34,}\b/dg, hints: ["hf_"] },
  ...SECRET_OPTIONS.map((o) => ({ id: o.id, regex: optionRegex(o), hints: o.hints })),
  {
    id: "bearer_token",
    regex: /(?:\bbearer|authorization:\s*basic)\s+(?<v1>[A-Za-z0-9._~+/-]{20,}=*)/dgi,
    hints: ["bearer", "basic"],
  },
  {
    id: "database_url",
    regex: new RegExp(
      `\\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\\+srv)?|rediss?|amqps?|mssql|sqlserver|clickhouse|oracle)(?:\\+[a-z0-9]+)?://${URL_USERINFO}`,
      "dgi",
    ),
    hints: ["://"],
  },
  { id: "git_url_creds", regex: new RegExp(`\\b[a-z][a-z0-9+.-]*://${URL_USERINFO}`, "dgi"), hints: ["://"] },
  {
    id: "private_key",
    regex: /-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)/dg,
    hints: ["private key"],
  },
  {
    id: "slack_webhook",
    regex: /hooks\.slack\.com\/(?:services|workflows|triggers)\/(?<v1>[A-Za-z0-9_/-]+)/dgi,
    hints: ["hooks.slack.com"],
  },
  { id: "slack_token", regex: /\bxox[abposr]-[A-Za-z0-9-]{10,}/dg, hints: ["xox"] },
  { id: "gitlab_token", regex: /\bglpat-[A-Za-z0-9_-]{20,}/dg, hints: ["glpat-"] },
  { id: "google_api_key", regex: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/dg, hints: ["aiza"] },
  { id: "stripe_key", regex: /\b[rs]k_live_[0-9A-Za-z]{16,}/dg, hints: ["k_live_"] },
  { id: "npm_token", regex: /\bnpm_[A-Za-z0-9]{36}\b/dg, hints: ["npm_"] },
  { id: "jwt", regex: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/dg, hints: ["eyj"] },
  {
    // NAME=value where NAME looks secret (checked in code); not `--opt=value`, which the options above cover.
    id: "env_var_assignment",
    regex: /(?<![\w-])(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?:"(?<v1>[^"]+)"|'(?<v2>[^']+)'|(?<v3>[^\s"'&;]+))/dg,
    hints: ["="],
    needsSecretName: true,
  },
];

const SECRET_NAME_EXACT = new Set([
  "PASS",
  "PWD",
  "PAT",
  "AUTH",
  "AUTHORIZATION",
  "DSN",
  "CREDS",
  "COOKIE",
  "COOKIES",
  "SIGNATURE",
  "PRIVATE",
  "PASSPHRASE",
  "WEBHOOK",
]);
const SECRET_NAME_SUFFIX = [
  "TOKEN",
  "KEY",
  "KEYS",
  "SECRET",
  "SECRETS",
  "PASSWORD",
  "PASSWORDS",
  "PASSWD",
  "CREDENTIAL",
  "CREDENTIALS",
  "WEBHOOK",
  "PASSPHRASE",
];

/**
 * Whether a variable (or assignment) name says its value is a secret: one of its words (split at `_`, `-`, `.`
 * and camelCase) ends in TOKEN, KEY, SECRET, PASSWORD, CREDENTIAL, WEBHOOK…, or is PASS, PWD, PAT, AUTH, DSN,
 * COOKIE…. `PATH`, `MAX_TOKENS`, `TOKENIZER` and the shell's own `PWD` / `OLDPWD` are not secrets.
 */
export function looksSecretName(name: string): boolean {
  if (name === "PWD" || name === "OLDPWD") return false;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[^A-Z0-9]+/);
  return words.some((w) => SECRET_NAME_EXACT.has(w) || SECRET_NAME_SUFFIX.some((s) => w.endsWith(s)));
}
