/**
 * `roar diff`: what changed between two jobs — argv and options, git, inputs and outputs by digest, packages,
 * Python, `[env]`, runtime and trace facts. Pure: the caller supplies the jobs, the git facts it looked up and
 * (afterwards) the content diffs of small structured files. This is the one place the compared documents are
 * built, so a redaction step can be applied to the jobs before they get here.
 */
import type {
  DiffJobJson,
  GitChangesJson,
  IoChangeJson,
  JobChangesJson,
  KeyChangeJson,
  OptionChangeJson,
  PackageChangesJson,
} from "../schema/diff.ts";
import { flatten, type Leaf } from "./structured.ts";
import type { IoRecord, JobWithIo } from "./types.ts";

/** One side of a comparison: a job with its inputs and outputs, and how to call it (`@3~1`). */
export interface DiffSide {
  job: JobWithIo;
  label: string;
}

/** What the caller found out from git about the two commits (null fields: not looked up / not available). */
export interface GitFacts {
  relation: "same" | "ahead" | "behind" | "diverged" | "unknown";
  commits: { commit: string; subject: string }[];
  commitsTotal: number;
  files: { status: string; path: string }[];
  /** Files touched by each stored uncommitted diff, by its BLAKE3. */
  patchFiles: Map<string, string[]>;
}

export const NO_GIT_FACTS: GitFacts = {
  relation: "unknown",
  commits: [],
  commitsTotal: 0,
  files: [],
  patchFiles: new Map(),
};

export function jobRef(side: DiffSide): DiffJobJson {
  const j = side.job;
  return {
    uid: j.uid,
    label: side.label,
    step: j.step,
    kind: j.kind,
    sessionId: j.sessionId,
    command: j.argv,
    startedAt: new Date(j.startedAt).toISOString(),
    status: j.status,
    exitCode: j.exitCode,
    durationMs: j.durationMs,
  };
}

function change(from: unknown, to: unknown): { from: unknown; to: unknown } | null {
  return JSON.stringify(from ?? null) === JSON.stringify(to ?? null) ? null : { from: from ?? null, to: to ?? null };
}

// ── argv ────────────────────────────────────────────────────────────────────────────────────────────────

const SCRIPT = /\.(py|sh|bash|R|r|jl|js|ts|mjs|rb|pl|ipynb)$/;

function isOption(token: string): boolean {
  return token.startsWith("-") && token !== "-" && token !== "--" && !/^-\d/.test(token);
}

export interface ParsedArgv {
  /** Option → its values in order (null: a flag); repeated options keep every value. */
  options: Map<string, (string | null)[]>;
  positional: string[];
}

/**
 * Splits an argv the way step identity does: `--key=value`, `--key value` and `-k value` bind a value unless
 * the next token is an option or a script path; everything after `--` is positional.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  const options = new Map<string, (string | null)[]>();
  const positional: string[] = [];
  const add = (key: string, value: string | null) => {
    const list = options.get(key);
    if (list) list.push(value);
    else options.set(key, [value]);
  };
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (rest || i === 0 || !isOption(token)) {
      if (token === "--" && !rest && i > 0) rest = true;
      else positional.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    if (token.startsWith("--") && eq > 2) {
      add(token.slice(0, eq), token.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !isOption(next) && next !== "--" && !SCRIPT.test(next)) {
      add(token, next);
      i++;
    } else add(token, null);
  }
  return { options, positional };
}

function optionValue(values: (string | null)[]): string | null {
  return values.length === 1 ? (values[0] as string | null) : values.map((v) => v ?? "").join(" ");
}

export function diffArgv(from: readonly string[], to: readonly string[]): JobChangesJson["command"] {
  const a = parseArgv(from);
  const b = parseArgv(to);
  const options: OptionChangeJson[] = [];
  for (const [option, values] of a.options) {
    const other = b.options.get(option);
    if (!other) options.push({ option, change: "removed", from: optionValue(values) });
    else if (JSON.stringify(values) !== JSON.stringify(other)) {
      options.push({ option, change: "changed", from: optionValue(values), to: optionValue(other) });
    }
  }
  for (const [option, values] of b.options) {
    if (!a.options.has(option)) options.push({ option, change: "added", to: optionValue(values) });
  }
  const positional: JobChangesJson["command"]["positional"] = [];
  for (let i = 0; i < Math.max(a.positional.length, b.positional.length); i++) {
    const x = a.positional[i] ?? null;
    const y = b.positional[i] ?? null;
    if (x !== y) positional.push({ index: i, from: x, to: y });
  }
  const changed = JSON.stringify(from) !== JSON.stringify(to);
  return { changed, from: [...from], to: [...to], options, positional };
}

// ── maps of values ──────────────────────────────────────────────────────────────────────────────────────

/** Added / removed / changed keys of two flat or nested records (nested ones by dotted key). */
export function diffRecords(from: unknown, to: unknown): KeyChangeJson[] {
  // An empty record means "no keys" here (flatten would make it one "{}" leaf).
  const flat = (x: unknown) =>
    x && typeof x === "object" && Object.keys(x).length > 0 ? flatten(x) : new Map<string, Leaf>();
  const a = flat(from);
  const b = flat(to);
  const out: KeyChangeJson[] = [];
  for (const [key, value] of a) {
    if (!b.has(key)) out.push({ key, change: "removed", from: value });
    else if (b.get(key) !== value) out.push({ key, change: "changed", from: value, to: b.get(key) as Leaf });
  }
  for (const [key, value] of b) if (!a.has(key)) out.push({ key, change: "added", to: value });
  return out;
}

function diffPackages(from: unknown, to: unknown): PackageChangesJson[] {
  const asRecord = (x: unknown) => (x && typeof x === "object" ? (x as Record<string, unknown>) : {});
  const a = asRecord(from);
  const b = asRecord(to);
  const out: PackageChangesJson[] = [];
  for (const manager of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = asRecord(a[manager]);
    const y = asRecord(b[manager]);
    const entry: PackageChangesJson = { manager, added: [], removed: [], changed: [], unchanged: 0 };
    for (const name of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const vx = x[name];
      const vy = y[name];
      if (vx === undefined) entry.added.push({ name, version: String(vy) });
      else if (vy === undefined) entry.removed.push({ name, version: String(vx) });
      else if (String(vx) !== String(vy)) entry.changed.push({ name, from: String(vx), to: String(vy) });
      else entry.unchanged++;
    }
    out.push(entry);
  }
  return out;
}

// ── inputs and outputs ──────────────────────────────────────────────────────────────────────────────────

function digestOf(io: IoRecord): { blake3: string | null; size: number | null } {
  return { blake3: io.blake3, size: io.size };
}

/** Per path: added, removed or changed digest (unchanged paths are only counted). */
export function diffIo(
  from: readonly IoRecord[],
  to: readonly IoRecord[],
): { changes: IoChangeJson[]; unchanged: number } {
  const b = new Map(to.map((io) => [io.path, io]));
  const a = new Map(from.map((io) => [io.path, io]));
  const changes: IoChangeJson[] = [];
  let unchanged = 0;
  for (const [path, x] of a) {
    const y = b.get(path);
    if (!y) changes.push({ path, change: "removed", from: digestOf(x), to: null, content: null });
    else if (x.blake3 !== y.blake3)
      changes.push({ path, change: "changed", from: digestOf(x), to: digestOf(y), content: null });
    else unchanged++;
  }
  for (const [path, y] of b) {
    if (!a.has(path)) changes.push({ path, change: "added", from: null, to: digestOf(y), content: null });
  }
  changes.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  return { changes, unchanged };
}

// ── the whole job ───────────────────────────────────────────────────────────────────────────────────────

function gitChanges(a: JobWithIo, b: JobWithIo, facts: GitFacts): GitChangesJson {
  const ga = a.git;
  const gb = b.git;
  const patchA = ga.patch ?? null;
  const patchB = gb.patch ?? null;
  return {
    commit: change(ga.commit, gb.commit),
    branch: change(ga.branch, gb.branch),
    clean: change(ga.clean, gb.clean),
    remoteUrl: change(ga.remoteUrl, gb.remoteUrl),
    relation: ga.commit && ga.commit === gb.commit ? "same" : facts.relation,
    commits: facts.commits,
    commitsTotal: facts.commitsTotal,
    files: facts.files,
    patch:
      patchA === patchB
        ? null
        : {
            from: patchA,
            to: patchB,
            fromFiles: patchA ? (facts.patchFiles.get(patchA) ?? []) : [],
            toFiles: patchB ? (facts.patchFiles.get(patchB) ?? []) : [],
          },
  };
}

function pick(record: unknown, keys: readonly string[]): Record<string, unknown> {
  const r = (record && typeof record === "object" ? record : {}) as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
}

export function diffJobs(from: DiffSide, to: DiffSide, facts: GitFacts = NO_GIT_FACTS): JobChangesJson {
  const a = from.job;
  const b = to.job;
  const inputs = diffIo(a.inputs, b.inputs);
  const outputs = diffIo(a.outputs, b.outputs);
  const pythonKeys = ["executable", "version", "venv"];
  return {
    command: diffArgv(a.argv, b.argv),
    cwd: change(a.cwd, b.cwd),
    status: change(a.status, b.status),
    exitCode: change(a.exitCode, b.exitCode),
    durationMs: { from: a.durationMs, to: b.durationMs },
    git: gitChanges(a, b, facts),
    inputs: inputs.changes,
    outputs: outputs.changes,
    unchangedInputs: inputs.unchanged,
    unchangedOutputs: outputs.unchanged,
    packages: diffPackages(a.metadata.packages, b.metadata.packages),
    python: diffRecords(pick(a.metadata.python, pythonKeys), pick(b.metadata.python, pythonKeys)),
    env: diffRecords(a.metadata.env, b.metadata.env),
    runtime: diffRecords(a.metadata.runtime, b.metadata.runtime),
    trace: diffRecords(pick(a.trace, ["backend", "complete"]), pick(b.trace, ["backend", "complete"])),
  };
}

/** True when nothing but identity, time and duration differs. */
export function jobsIdentical(c: JobChangesJson): boolean {
  const g = c.git;
  return (
    !c.command.changed &&
    !c.cwd &&
    !c.status &&
    !c.exitCode &&
    !g.commit &&
    !g.branch &&
    !g.clean &&
    !g.remoteUrl &&
    !g.patch &&
    c.inputs.length === 0 &&
    c.outputs.length === 0 &&
    c.packages.every((p) => p.added.length + p.removed.length + p.changed.length === 0) &&
    c.python.length === 0 &&
    c.env.length === 0 &&
    c.runtime.length === 0 &&
    c.trace.length === 0
  );
}
