/** Why a step is stale, in words (text views) and as the documented JSON (`staleReasons`). */
import { type Dag, labelOf, type StaleReason } from "../core/dag.ts";
import type { StaleReasonJson } from "../schema/dag.ts";

/** How a path is shown: a Presenter's `text` (redacted, escaped for text), or as is for a document presented later. */
export type ShowText = (text: string) => string;

/** One reason in words: "params.yaml changed on disk (read 1a2b3c4d5e6f, now 9f8e7d6c5b4a)". */
export function staleReasonText(reason: StaleReason, dag: Dag, show: ShowText): string {
  switch (reason.cause) {
    case "upstream":
      return `${show(reason.path)}: ${labelOf(dag, reason.producerStep)} was re-run and no longer has the content it read (${reason.blake3.slice(0, 12)})`;
    case "input":
      return `${show(reason.path)} changed since it was read (read ${reason.blake3.slice(0, 12)}, now ${reason.current ? reason.current.slice(0, 12) : "another size"})`;
    case "code":
      return reason.committed
        ? `${show(reason.path)} changed in git since its commit ${reason.commit.slice(0, 8)}`
        : `${show(reason.path)} has uncommitted changes (it ran at ${reason.commit.slice(0, 8)})`;
    case "failed":
      return reason.status === "interrupted"
        ? "its latest run was interrupted"
        : `its latest run failed${reason.exitCode !== null ? ` (exit ${reason.exitCode})` : ""}`;
    case "upstream-stale":
      return `depends on stale ${reason.steps.map((s) => labelOf(dag, s)).join(", ")}`;
  }
}

/** The reasons of a step as `--json` carries them. */
export function staleReasonsJson(reasons: readonly StaleReason[], dag: Dag, show: ShowText): StaleReasonJson[] {
  return reasons.map((r) => {
    const message = staleReasonText(r, dag, show);
    switch (r.cause) {
      case "upstream":
        return { cause: r.cause, message, path: show(r.path), blake3: r.blake3, producerStep: r.producerStep };
      case "input":
        return { cause: r.cause, message, path: show(r.path), blake3: r.blake3, currentBlake3: r.current };
      case "code":
        return { cause: r.cause, message, path: show(r.path), commit: r.commit, committed: r.committed };
      case "failed":
        return { cause: r.cause, message, exitCode: r.exitCode };
      default:
        return { cause: r.cause, message, steps: r.steps };
    }
  });
}

/** At most this many stale steps are explained in text views (JSON carries every one). */
export const EXPLAINED_STEPS = 20;

/**
 * Text lines: each stale step and its reasons ("  @2  params.yaml changed since it was read (…)"), the first
 * EXPLAINED_STEPS of them, then how many more.
 */
export function staleReasonLines(dag: Dag, show: ShowText, only?: ReadonlySet<number>, indent = "  "): string[] {
  const lines: string[] = [];
  const all = [...dag.stale].filter((s) => !only || only.has(s)).sort((a, b) => a - b);
  const steps = all.slice(0, EXPLAINED_STEPS);
  const width = Math.max(0, ...steps.map((s) => labelOf(dag, s).length));
  for (const step of steps) {
    const node = dag.current.get(step);
    if (!node) continue;
    const label = node.label.padEnd(width);
    node.reasons.forEach((r, i) => {
      lines.push(`${indent}${i === 0 ? label : " ".repeat(label.length)}  ${staleReasonText(r, dag, show)}`);
    });
  }
  if (all.length > steps.length)
    lines.push(`${indent}… and ${all.length - steps.length} more stale steps (--json lists every one)`);
  return lines;
}
