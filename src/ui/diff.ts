/** `roar diff` as text: only what changed, section by section, from the same document `--json` prints. */

import { shellJoin } from "../core/shell-words.ts";
import { formatDuration, formatSize } from "../core/units.ts";
import type {
  ContentDiffJson,
  DiffJobJson,
  DiffJson,
  IoChangeJson,
  JobChangesJson,
  KeyChangeJson,
} from "../schema/diff.ts";
import type { Styler } from "./style.ts";
import { formatTime } from "./table.ts";

export interface DiffTextOptions {
  style: Styler;
  /** List every key change and file (default: the first few of each). */
  all: boolean;
}

const short = (digest: string | null | undefined) => (digest ? digest.slice(0, 12) : "none");

/** A value from a file or the environment: strings quoted (so `"1"` and `1` differ visibly), the rest as JSON. */
export function formatValue(v: unknown): string {
  if (v === undefined) return "(none)";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}

function keyLines(changes: readonly KeyChangeJson[], s: Styler, indent: string, limit: number, unlisted = 0): string[] {
  const out = changes.slice(0, limit).map((c) => {
    if (c.change === "added") return s.green(`${indent}+ ${c.key}: ${formatValue(c.to)}`);
    if (c.change === "removed") return s.red(`${indent}- ${c.key}: ${formatValue(c.from)}`);
    return `${indent}${s.yellow("~")} ${c.key}: ${formatValue(c.from)} → ${formatValue(c.to)}`;
  });
  const hidden = Math.max(0, changes.length - limit) + unlisted;
  if (hidden > 0) out.push(s.dim(`${indent}… and ${hidden} more${changes.length > limit ? " (--all)" : ""}`));
  return out;
}

function contentLines(c: ContentDiffJson, s: Styler, limit: number, indent = "      "): string[] {
  if (!c.available) return [s.dim(`${indent}(${c.reason ?? "content not available"})`)];
  if (c.changes.length === 0) return [s.dim(`${indent}(${c.format}: same keys and values; formatting differs)`)];
  return keyLines(c.changes, s, indent, limit, c.omitted);
}

function ioLines(list: readonly IoChangeJson[], s: Styler, o: DiffTextOptions): string[] {
  const limit = o.all ? Number.POSITIVE_INFINITY : 20;
  const out: string[] = [];
  for (const c of list) {
    if (c.change === "added")
      out.push(s.green(`  + ${c.path}  (new)  ${short(c.to?.blake3)}  ${formatSize(c.to?.size)}`));
    else if (c.change === "removed") out.push(s.red(`  - ${c.path}  (gone)  ${short(c.from?.blake3)}`));
    else {
      const what = c.to?.blake3 === null ? "deleted" : `${short(c.from?.blake3)} → ${short(c.to?.blake3)}`;
      out.push(`  ${s.yellow("~")} ${c.path}  ${what}  ${formatSize(c.from?.size)} → ${formatSize(c.to?.size)}`);
      if (c.content) out.push(...contentLines(c.content, s, limit));
    }
  }
  return out;
}

function jobLine(name: string, j: DiffJobJson | null): string {
  if (!j) return `${name} (no recorded job: an external input)`;
  const status = j.status === "ok" ? "OK" : j.status === "interrupted" ? "INT" : `FAIL (exit ${j.exitCode ?? "?"})`;
  return `${name} ${j.label.padEnd(6)} ${j.uid.slice(0, 12)}  ${formatTime(Date.parse(j.startedAt))}  ${status}  ${formatDuration(j.durationMs)}`;
}

function changeSections(c: JobChangesJson, s: Styler, o: DiffTextOptions): { lines: string[]; same: string[] } {
  const lines: string[] = [];
  const same: string[] = [];
  const section = (title: string, body: string[]) => {
    if (body.length === 0) return;
    lines.push("", s.bold(title), ...body);
  };
  const fileLimit = o.all ? Number.POSITIVE_INFINITY : 10;

  if (c.command.changed) {
    const body = [s.red(`  - ${shellJoin(c.command.from)}`), s.green(`  + ${shellJoin(c.command.to)}`)];
    for (const opt of c.command.options) {
      const v = (x: string | null | undefined) => (x === null ? "(flag)" : (x ?? "(none)"));
      if (opt.change === "added") body.push(s.green(`    + ${opt.option} ${v(opt.to)}`));
      else if (opt.change === "removed") body.push(s.red(`    - ${opt.option} ${v(opt.from)}`));
      else body.push(`    ${s.yellow("~")} ${opt.option}: ${v(opt.from)} → ${v(opt.to)}`);
    }
    for (const p of c.command.positional) {
      body.push(`    ${s.yellow("~")} argument ${p.index}: ${p.from ?? "(none)"} → ${p.to ?? "(none)"}`);
    }
    section("Command:", body);
  } else same.push("command");
  const run: string[] = [];
  if (c.cwd) run.push(`  cwd: ${formatValue(c.cwd.from)} → ${formatValue(c.cwd.to)}`);
  if (c.status) run.push(`  status: ${String(c.status.from)} → ${String(c.status.to)}`);
  if (c.exitCode) run.push(`  exit code: ${String(c.exitCode.from)} → ${String(c.exitCode.to)}`);
  section("Run:", run);

  const g = c.git;
  const git: string[] = [];
  if (g.commit) {
    const rel =
      g.relation === "ahead"
        ? `  (${g.commitsTotal} commit${g.commitsTotal === 1 ? "" : "s"} later)`
        : g.relation === "behind"
          ? `  (${g.commitsTotal} commit${g.commitsTotal === 1 ? "" : "s"} earlier)`
          : g.relation === "diverged"
            ? "  (diverged)"
            : "";
    git.push(`  commit: ${short(g.commit.from as string)} → ${short(g.commit.to as string)}${rel}`);
    for (const k of g.commits) git.push(s.dim(`    ${k.commit.slice(0, 12)} ${k.subject}`));
    if (g.commitsTotal > g.commits.length) git.push(s.dim(`    … and ${g.commitsTotal - g.commits.length} more`));
    if (g.files.length > 0) {
      const names = g.files.slice(0, fileLimit).map((f) => `${f.status} ${f.path}`);
      if (g.files.length > fileLimit) names.push(`… ${g.files.length - fileLimit} more`);
      git.push(`  files: ${names.join(", ")}`);
    }
  }
  if (g.branch) git.push(`  branch: ${String(g.branch.from)} → ${String(g.branch.to)}`);
  if (g.clean) git.push(`  clean: ${String(g.clean.from)} → ${String(g.clean.to)}`);
  if (g.remoteUrl) git.push(`  remote: ${String(g.remoteUrl.from)} → ${String(g.remoteUrl.to)}`);
  if (g.patch) {
    const side = (d: string | null, files: string[]) =>
      d ? `${short(d)}${files.length ? ` (${files.join(", ")})` : ""}` : "none";
    git.push(`  uncommitted diff: ${side(g.patch.from, g.patch.fromFiles)} → ${side(g.patch.to, g.patch.toFiles)}`);
  }
  if (git.length > 0) section("Git:", git);
  else same.push("git");

  const unchangedNote = (n: number) => (n > 0 ? s.dim(`  (${n} unchanged)`) : "");
  if (c.inputs.length > 0) section(`Inputs:${unchangedNote(c.unchangedInputs)}`, ioLines(c.inputs, s, o));
  else same.push(`${c.unchangedInputs} input${c.unchangedInputs === 1 ? "" : "s"}`);
  if (c.outputs.length > 0) section(`Outputs:${unchangedNote(c.unchangedOutputs)}`, ioLines(c.outputs, s, o));
  else same.push(`${c.unchangedOutputs} output${c.unchangedOutputs === 1 ? "" : "s"}`);

  const pkgs: string[] = [];
  for (const p of c.packages) {
    const lines = [
      ...p.changed.map((x) => `  ${s.yellow("~")} ${p.manager}: ${x.name} ${x.from} → ${x.to}`),
      ...p.added.map((x) => s.green(`  + ${p.manager}: ${x.name}==${x.version}`)),
      ...p.removed.map((x) => s.red(`  - ${p.manager}: ${x.name}==${x.version}`)),
    ];
    pkgs.push(...lines.slice(0, fileLimit));
    if (lines.length > fileLimit)
      pkgs.push(s.dim(`  … and ${lines.length - fileLimit} more ${p.manager} changes (--all)`));
  }
  if (pkgs.length > 0) section("Packages:", pkgs);
  else same.push("packages");

  const keyLimit = o.all ? Number.POSITIVE_INFINITY : 20;
  for (const [title, list, name] of [
    ["Python:", c.python, "python"],
    ["Environment:", c.env, "env"],
    ["Runtime:", c.runtime, "runtime"],
    ["Trace:", c.trace, "trace"],
  ] as const) {
    if (list.length > 0) section(title, keyLines(list, s, "  ", keyLimit));
    else same.push(name);
  }
  return { lines, same };
}

export function renderDiffText(doc: Omit<DiffJson, "schemaVersion">, o: DiffTextOptions): string {
  const s = o.style;
  const out: string[] = [];
  const limit = o.all ? Number.POSITIVE_INFINITY : 20;
  if (doc.artifacts) {
    const { from, to, content } = doc.artifacts;
    out.push(
      s.bold(`Artifacts: ${from.path ?? short(from.blake3)} → ${to.path ?? short(to.blake3)}`),
      `  ${short(from.blake3)} → ${short(to.blake3)}  ${formatSize(from.size)} → ${formatSize(to.size)}`,
    );
    if (from.blake3 === to.blake3) out.push("  same content");
    else if (content) out.push(...contentLines(content, s, limit, "  "));
    out.push("", s.bold("Produced by:"), `  ${jobLine("from", doc.from)}`, `  ${jobLine("to  ", doc.to)}`);
  } else {
    out.push(
      s.bold(`Jobs: ${doc.from?.label} → ${doc.to?.label}`),
      `  ${jobLine("from", doc.from)}`,
      `  ${jobLine("to  ", doc.to)}`,
    );
  }
  if (doc.changes) {
    const { lines, same } = changeSections(doc.changes, s, o);
    if (doc.from?.uid === doc.to?.uid) out.push("", "Same job.");
    else if (lines.length === 0) out.push("", "No differences besides time and duration.");
    else {
      out.push(...lines);
      if (same.length > 0) out.push("", s.dim(`Unchanged: ${same.join(", ")}`));
    }
  }
  return `${out.join("\n")}\n`;
}
