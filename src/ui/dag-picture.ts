/**
 * What `roar dag --format …` draws: one model of the picture — steps, optionally artifacts, edges by content,
 * stale marks — shared by every writer (DOT, Mermaid, SVG) and by anything else that draws the pipeline.
 */
import type { ArtifactState, Dag, NodeState } from "../core/dag.ts";
import { shellJoin } from "../core/shell-words.ts";
import { type DagViewOptions, visibleArtifacts, visibleNodes } from "./dag.ts";

export interface PictureNode {
  /** Stable within one picture: `s3` (step 3's current job), `j<uid>` (a superseded job), `a5` (an artifact). */
  id: string;
  kind: "step" | "artifact";
  /** `@3`, `@B1` (with ` *` when stale) or the artifact's path. */
  title: string;
  /** The step's name or command; an artifact's short digest. */
  subtitle: string;
  /** The full text, for tooltips. */
  tooltip: string;
  state: NodeState | ArtifactState;
  isBuild: boolean;
  step: number;
  /** Where the node links to, when the picture is part of a web page. */
  href?: string;
}

export interface PictureEdge {
  from: string;
  to: string;
  /** The paths the content travelled under (for step → step edges). */
  paths: string[];
  kind: "data" | "superseded";
  /** The consumer read content its producer step no longer writes. */
  stale: boolean;
}

export interface DagPicture {
  nodes: PictureNode[];
  edges: PictureEdge[];
  totalSteps: number;
  staleCount: number;
  expanded: boolean;
}

/** What to draw for a view (the same selection of steps and artifacts as the text view). */
export function dagPicture(dag: Dag, o: DagViewOptions): DagPicture {
  const nodes: PictureNode[] = [];
  const edges: PictureEdge[] = [];
  const idOfJob = new Map<string, string>();
  for (const n of visibleNodes(dag, o)) {
    const id = n.current ? `s${n.step}` : `j${n.job.uid.slice(0, 16)}`;
    idOfJob.set(n.job.uid, id);
    // Every string of user data through the presenter (secrets redacted, control characters escaped).
    const command = shellJoin(o.present.argv(n.job.argv));
    const failed = n.job.status !== "ok" ? ` [${n.job.exitCode !== null ? `exit ${n.job.exitCode}` : "failed"}]` : "";
    nodes.push({
      id,
      kind: "step",
      title: `${n.label}${n.state === "stale" ? " *" : ""}${n.state === "superseded" ? " (superseded)" : ""}${failed}`,
      subtitle: n.job.name !== null ? o.present.text(n.job.name) : command,
      tooltip: `${n.label} ${n.state}: ${command}`,
      state: n.state,
      isBuild: n.isBuild,
      step: n.step,
    });
  }
  const shownStep = (step: number) => idOfJob.get(dag.current.get(step)?.job.uid ?? "");
  // Superseded runs point at the run that replaced them.
  for (const n of visibleNodes(dag, o)) {
    const cur = shownStep(n.step);
    if (!n.current && cur) {
      edges.push({ from: idOfJob.get(n.job.uid) as string, to: cur, paths: [], kind: "superseded", stale: false });
    }
  }
  // (producer step, consumer step) pairs an artifact node already connects.
  const viaArtifact = new Set<string>();
  visibleArtifacts(dag, o).forEach((a, i) => {
    // What a step has now hangs off its current run (a carried output was written by an earlier one).
    const producer = a.ofCurrent ? shownStep(a.producerStep) : idOfJob.get(a.producerUid);
    if (!producer) return;
    const id = `a${i}`;
    const path = o.present.text(a.path);
    nodes.push({
      id,
      kind: "artifact",
      title: path,
      subtitle: a.blake3.slice(0, 12),
      tooltip: `${path} (${a.state}) blake3 ${a.blake3}`,
      state: a.state,
      isBuild: false,
      step: a.producerStep,
    });
    edges.push({ from: producer, to: id, paths: [path], kind: "data", stale: false });
    for (const c of a.consumerSteps) {
      const consumer = shownStep(c);
      if (!consumer) continue;
      const stale = dag.current
        .get(c)
        ?.staleEdges.some((e) => e.producerStep === a.producerStep && e.producedAt === a.path);
      edges.push({ from: id, to: consumer, paths: [path], kind: "data", stale: stale === true });
      viaArtifact.add(`${a.producerStep}\0${c}`);
    }
  });
  for (const n of visibleNodes(dag, o)) {
    if (!n.current) continue;
    const to = idOfJob.get(n.job.uid) as string;
    for (const d of n.dependencies) {
      const from = shownStep(d);
      if (!from || d === n.step || viaArtifact.has(`${d}\0${n.step}`)) continue;
      const paths = [...new Set(n.edges.filter((e) => e.producerStep === d).map((e) => o.present.text(e.path)))];
      const stale = n.staleEdges.some((e) => e.producerStep === d);
      edges.push({ from, to, paths, kind: "data", stale });
    }
  }
  return { nodes, edges, totalSteps: dag.steps.length, staleCount: dag.stale.size, expanded: o.expanded };
}

/** Characters no format should carry through: C0 controls (but tab), DEL, lone surrogates. */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    "\ufffd",
  );
}

export const COLOURS = {
  active: { stroke: "#2e7d32", fill: "#e8f5e9", text: "#1b5e20" },
  stale: { stroke: "#d62728", fill: "#fdecea", text: "#b71c1c" },
  superseded: { stroke: "#9e9e9e", fill: "#f5f5f5", text: "#757575" },
  orphaned: { stroke: "#f9a825", fill: "#fff8e1", text: "#8d6e00" },
} as const;

export function colourOf(state: PictureNode["state"]): (typeof COLOURS)[keyof typeof COLOURS] {
  return COLOURS[state];
}
