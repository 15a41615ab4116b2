/** `roar dag`: the session's DAG as a tree of steps (text) or as the documented JSON document. */
import type { ArtifactState, Dag, DagArtifact, DagNode } from "../core/dag.ts";
import { dagArtifacts } from "../core/dag-artifacts.ts";
import { shellJoin } from "../core/shell-words.ts";
import type { DagArtifactJson, DagJson, DagNodeJson } from "../schema/dag.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import type { Presenter } from "./present.ts";
import { staleReasonLines, staleReasonsJson } from "./stale.ts";
import type { Styler } from "./style.ts";
import { isoTime, truncate } from "./table.ts";

export interface DagViewOptions {
  expanded: boolean;
  showArtifacts: boolean;
  staleOnly: boolean;
  /** How user data (argv, names, paths) is shown: redacted, and escaped for text. */
  present: Presenter;
}

export function visibleNodes(dag: Dag, o: DagViewOptions): DagNode[] {
  return dag.nodes
    .filter((n) => (o.expanded || n.current) && (!o.staleOnly || n.state === "stale"))
    .sort((a, b) => a.step - b.step || a.job.seq - b.job.seq);
}

export function visibleArtifacts(dag: Dag, o: DagViewOptions): DagArtifact[] {
  // The compact default shows terminal artifacts only: compute just those.
  const source =
    o.expanded || o.staleOnly ? dag.artifacts : dagArtifacts(dag, o.showArtifacts ? "current" : "terminal");
  return source.filter((a) => {
    // Outputs of superseded jobs: only in the expanded view.
    if (!o.expanded && !a.ofCurrent) return false;
    if (o.staleOnly) return a.state === "stale" || a.state === "superseded";
    return o.showArtifacts || a.isTerminal;
  });
}

export function dagJson(dag: Dag, sessionUid: string | null, o: DagViewOptions): DagJson {
  const p = o.present;
  const nodes: DagNodeJson[] = visibleNodes(dag, o).map((n) => {
    const argv = p.argv(n.job.argv);
    return {
      step: n.step,
      label: n.label,
      jobUid: n.job.uid,
      command: shellJoin(argv),
      argv,
      name: n.job.name === null ? null : p.text(n.job.name),
      state: n.state,
      isBuild: n.isBuild,
      exitCode: n.job.exitCode,
      status: n.job.status,
      startedAt: isoTime(n.job.startedAt),
      inputs: n.inputs.length,
      outputs: n.outputs.length,
      consumed: n.edges.length,
      dependencies: n.dependencies,
      staleInputs: n.staleEdges.map((e) => ({ path: p.text(e.path), blake3: e.blake3, producerStep: e.producerStep })),
      staleReasons: n.current ? staleReasonsJson(n.reasons, dag, (t) => p.text(t)) : [],
    };
  });
  const artifacts: DagArtifactJson[] = visibleArtifacts(dag, o).map((a) => ({
    path: p.text(a.path),
    blake3: a.blake3,
    size: a.size,
    state: a.state,
    producerStep: a.producerStep,
    producerJobUid: a.producerUid,
    consumerSteps: a.consumerSteps,
    isTerminal: a.isTerminal,
  }));
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    sessionId: sessionUid,
    totalSteps: dag.steps.length,
    staleCount: dag.stale.size,
    isExpanded: o.expanded,
    nodes,
    artifacts,
  };
}

export interface DagTextOptions extends DagViewOptions {
  width: number;
  style: Styler;
}

const BRANCH = "├──> ";
const LAST = "└──> ";
const PREV = "├─── ";
const PREV_LAST = "└─── ";
const PIPE = "│    ";
const SPACE = "     ";

type Item =
  | { kind: "step"; step: number }
  | { kind: "previous"; node: DagNode }
  | { kind: "artifact"; artifact: DagArtifact };

export function renderDagText(dag: Dag, o: DagTextOptions): string {
  const s = o.style;
  const nodes = visibleNodes(dag, o);
  const shownSteps = [...new Set(nodes.map((n) => n.step))].sort((a, b) => a - b);
  const visible = new Set(shownSteps);
  const lines: string[] = [];

  let header = `Pipeline: ${dag.steps.length} step${dag.steps.length === 1 ? "" : "s"}`;
  if (o.expanded && nodes.length !== shownSteps.length) header += ` (${nodes.length} runs shown)`;
  const superseded = dag.nodes.length - dag.current.size;
  const notes: string[] = [];
  if (dag.stale.size > 0) notes.push(`${dag.stale.size} stale`);
  if (o.expanded && superseded > 0) notes.push(`${superseded} superseded`);
  if (notes.length > 0) header += ` (${notes.join(", ")})`;
  lines.push(s.bold(header));
  if (dag.steps.length === 0) return `${lines.join("\n")}\n`;
  if (shownSteps.length === 0) {
    lines.push("", o.staleOnly ? "No stale steps." : "Nothing to show.");
    return `${lines.join("\n")}\n`;
  }
  lines.push("");

  const deps = new Map<number, number[]>();
  const children = new Map<number, number[]>();
  for (const step of shownSteps) {
    const d = (dag.current.get(step)?.dependencies ?? []).filter((x) => x !== step && visible.has(x));
    deps.set(step, d);
    for (const p of d) {
      const list = children.get(p) ?? [];
      list.push(step);
      children.set(p, list);
    }
  }
  const artifactsByStep = new Map<number, DagArtifact[]>();
  for (const a of visibleArtifacts(dag, o)) {
    if (!a.ofCurrent) continue; // superseded jobs' outputs are listed with the job
    const list = artifactsByStep.get(a.producerStep) ?? [];
    list.push(a);
    artifactsByStep.set(a.producerStep, list);
  }
  const previousByStep = new Map<number, DagNode[]>();
  for (const n of nodes) {
    if (n.current) continue;
    const list = previousByStep.get(n.step) ?? [];
    list.push(n);
    previousByStep.set(n.step, list);
  }

  const rendered = new Set<number>();
  const reserved = new Set<number>();

  const nodeText = (node: DagNode, used: number): string => {
    const markers: string[] = [];
    if (node.job.status !== "ok") markers.push(node.job.exitCode !== null ? `[exit ${node.job.exitCode}]` : "[failed]");
    if (node.state === "stale") markers.push("*");
    if (node.state === "superseded") markers.push("[superseded]");
    const counts = `in:${node.inputs.length} out:${node.outputs.length}`;
    const suffix = `  ${counts}${markers.length ? ` ${markers.join(" ")}` : ""}`;
    const room = Math.max(8, o.width - used - node.label.length - 1 - suffix.length);
    const title = truncate(
      node.job.name !== null ? o.present.text(node.job.name) : shellJoin(o.present.argv(node.job.argv)),
      room,
    );
    const colour = node.state === "stale" ? s.red : node.state === "superseded" ? s.grey : s.green;
    const label = node.state === "active" ? s.bold(colour(node.label)) : colour(node.label);
    const tail = node.state === "superseded" ? s.grey(suffix) : node.state === "stale" ? s.red(suffix) : s.dim(suffix);
    return `${label} ${node.state === "superseded" ? s.grey(title) : title}${tail}`;
  };

  const artifactColour = (state: ArtifactState) =>
    state === "stale" ? s.red : state === "superseded" ? s.grey : state === "orphaned" ? s.yellow : s.green;
  const artifactText = (a: DagArtifact, used: number): string => {
    const markers: string[] = [];
    if (a.state !== "active") markers.push(`[${a.state}]`);
    if (!a.isTerminal) markers.push("(intermediate)");
    const suffix = markers.length ? ` ${markers.join(" ")}` : "";
    const room = Math.max(8, o.width - used - 2 - suffix.length);
    return artifactColour(a.state)(`(${truncate(o.present.text(a.path), room)})${suffix}`);
  };

  const renderStep = (step: number, prefix: string, connector: string, last: boolean): void => {
    const node = dag.current.get(step) as DagNode;
    const head = prefix + connector;
    lines.push(head + nodeText(node, Bun.stringWidth(head)));
    rendered.add(step);
    const inner = connector === "" ? prefix : prefix + (last ? SPACE : PIPE);
    const items: Item[] = [];
    for (const prev of previousByStep.get(step) ?? []) items.push({ kind: "previous", node: prev });
    for (const c of children.get(step) ?? []) {
      if (reserved.has(c) || rendered.has(c)) continue;
      if (!(deps.get(c) ?? []).every((d) => rendered.has(d))) continue;
      reserved.add(c);
      items.push({ kind: "step", step: c });
    }
    for (const a of artifactsByStep.get(step) ?? []) items.push({ kind: "artifact", artifact: a });
    items.forEach((item, i) => {
      const isLast = i === items.length - 1;
      if (item.kind === "step") renderStep(item.step, inner, isLast ? LAST : BRANCH, isLast);
      else if (item.kind === "previous") {
        const h = inner + (isLast ? PREV_LAST : PREV);
        lines.push(h + nodeText(item.node, Bun.stringWidth(h)));
      } else {
        const h = inner + (isLast ? LAST : BRANCH);
        lines.push(h + artifactText(item.artifact, Bun.stringWidth(h)));
      }
    });
  };

  const roots = shownSteps.filter((step) => (deps.get(step) ?? []).length === 0);
  for (const r of roots) {
    if (rendered.has(r)) continue;
    reserved.add(r);
    renderStep(r, "", "", true);
  }
  // Steps not reachable from a root (a dependency cycle between re-runs): shown as roots.
  for (const step of shownSteps) {
    if (rendered.has(step) || reserved.has(step)) continue;
    reserved.add(step);
    renderStep(step, "", "", true);
  }

  const reasons = staleReasonLines(dag, (t) => o.present.text(t), visible);
  if (reasons.length > 0) lines.push("", s.bold("Stale:"), ...reasons.map((l) => s.red(l)));
  const legend = ["* = stale", "@BN = build step"];
  if (o.expanded) legend.push("[superseded] = previous run");
  if (!o.showArtifacts) legend.push("--show-artifacts lists intermediate files");
  lines.push("", s.dim(`Legend: ${legend.join("  ")}`));
  return `${lines.join("\n")}\n`;
}
