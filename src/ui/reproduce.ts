/** `roar reproduce` in text: the plan before a rebuild, and the verification report after it. */

import { networkSummary } from "../core/job-view.ts";
import { shellJoin } from "../core/shell-words.ts";
import { formatDuration } from "../core/units.ts";
import type { Preview } from "../run/reproduce/preview.ts";
import type { RebuildReport } from "../run/reproduce/rebuild.ts";
import type { Styler } from "./style.ts";

const SHOWN = 10;

/** The plan (already presented: redacted and escaped). `listAll`: every requirement, not the first ten. */
export function renderPreview(p: Preview, s: Styler, o: { listAll: boolean; targetArg: string }): string[] {
  const out: string[] = [];
  const list = (title: string, entries: string[]) => {
    out.push(`${s.bold(title)} (${entries.length})`);
    const shown = o.listAll ? entries : entries.slice(0, SHOWN);
    for (const e of shown) out.push(`  ${e}`);
    if (shown.length < entries.length)
      out.push(s.dim(`  … and ${entries.length - shown.length} more (--list-requirements)`));
  };
  const target = p.steps.length > 0 ? p.git.commit : null;
  out.push(`Artifact:   ${p.target.blake3}${p.target.path ? `  (${p.target.path})` : ""}`);
  if (p.origin !== "local") out.push(`Lineage:    from the registry at ${p.origin}`);
  out.push(`Git repo:   ${p.git.repo ?? "(none recorded)"}`);
  out.push(
    `Git commit: ${p.git.commit ?? "(none)"}${p.git.patch ? ` + recorded uncommitted diff ${p.git.patch.slice(0, 12)}` : ""}`,
  );
  out.push(`Python:     ${p.python ?? "(not used)"}`, "", s.bold(`Steps (${p.steps.length}):`));
  for (const step of p.steps) {
    const at = step.commit && step.commit !== target ? s.dim(`  (at ${step.commit.slice(0, 8)})`) : "";
    out.push(
      `  ${step.step.padEnd(5)} ${shellJoin(step.command)}${step.cwd ? s.dim(`  (cwd: ${step.cwd})`) : ""}${at}`,
    );
    if (step.network)
      out.push(s.yellow(`        used the network (${networkSummary(step.network)}): not self-contained`));
  }
  for (const n of p.notes) out.push(s.yellow(`  note: ${n}`));
  out.push("", s.bold(`External inputs (${p.externalInputs.length}):`));
  for (const e of p.externalInputs) {
    const state =
      e.availability === "available"
        ? s.green(`available (${e.source ?? "here"})`)
        : e.availability === "unchecked"
          ? s.yellow("not here; looked up in git once --run has cloned the repository")
          : s.red(e.availability === "missing" ? "missing here" : "differs here");
    out.push(`  ${e.path}  ${e.blake3.slice(0, 12)}  ${state}`);
  }
  out.push("");
  list(
    "Pip packages",
    Object.entries(p.requirements.pip).map(([n, v]) => `${n}==${v}`),
  );
  list(
    "Debian packages",
    Object.entries(p.requirements.dpkg).map(([n, v]) => `${n}=${v}`),
  );
  out.push("", "To rebuild it in a fresh checkout and verify the result:", `  roar reproduce ${o.targetArg} --run`);
  return out;
}

/** The verification report (artifacts already presented). */
export function renderReport(r: RebuildReport, s: Styler): string[] {
  const out = [`Reproduced in ${r.dest} (${formatDuration(r.durationMs)})`];
  for (const a of r.artifacts) {
    const state =
      a.state === "identical" ? s.green(a.state) : a.state === "differs" ? s.red(a.state) : s.yellow(a.state);
    out.push(`  ${state.padEnd(9)} ${a.path}${a.isTarget ? s.bold(" (target)") : ""}`);
    if (a.state !== "identical")
      out.push(`            recorded ${a.recorded}\n            got      ${a.reproduced ?? "(no file)"}`);
  }
  out.push(r.summary);
  return out;
}
