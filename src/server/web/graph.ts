/**
 * Registry graphs drawn with roar's own picture model, layout and SVG writer (ui/dag-picture.ts, core/dag-layout.ts,
 * ui/dag-svg.ts): jobs as boxes, artifacts as tags, each node a link to its page.
 */
import type { DagPicture, PictureEdge, PictureNode } from "../../ui/dag-picture.ts";
import { renderDagSvg } from "../../ui/dag-svg.ts";
import type { JobWithIo } from "../registry/views.ts";
import { seg } from "./html.ts";

/** Above this many artifacts a session graph shows jobs only, connected through what they exchanged. */
const MAX_ARTIFACT_NODES = 250;

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1) || path;

function jobNode(j: JobWithIo): PictureNode {
  const label = j.step_number !== null ? `${j.job_type === "build" ? "@B" : "@"}${j.step_number}` : "job";
  const failed = j.exit_code !== null && j.exit_code !== 0 ? ` [exit ${j.exit_code}]` : "";
  return {
    id: `j${j.id}`,
    kind: "step",
    title: `${label} ${j.job_uid.slice(0, 8)}${failed}`,
    subtitle: j.command,
    tooltip: `${label}: ${j.command}`,
    state: j.exit_code !== null && j.exit_code !== 0 ? "stale" : "active",
    isBuild: j.job_type === "build",
    step: j.step_number ?? 0,
    href: `/job/${seg(j.session_hash)}/${seg(j.job_uid)}`,
  };
}

function artifactNode(hash: string, path: string, highlight: boolean): PictureNode {
  return {
    id: `a${hash}`,
    kind: "artifact",
    title: basename(path) || hash.slice(0, 12),
    subtitle: hash.slice(0, 12),
    tooltip: `${path} blake3 ${hash}`,
    state: highlight ? "orphaned" : "active",
    isBuild: false,
    step: 0,
    href: `/artifact/${seg(hash)}`,
  };
}

const edge = (from: string, to: string, path: string): PictureEdge => ({
  from,
  to,
  paths: path ? [path] : [],
  kind: "data",
  stale: false,
});

/** Jobs and the artifacts they exchanged; `keep` limits the artifacts drawn, `highlight` marks one. */
function bipartite(jobs: JobWithIo[], keep: (hash: string) => boolean, highlight?: string): DagPicture {
  const nodes = new Map<string, PictureNode>();
  const edges: PictureEdge[] = [];
  for (const j of jobs) nodes.set(`j${j.id}`, jobNode(j));
  const artifact = (hash: string, path: string) => {
    if (!nodes.has(`a${hash}`)) nodes.set(`a${hash}`, artifactNode(hash, path, hash === highlight));
    return `a${hash}`;
  };
  for (const j of jobs) {
    for (const i of j.inputs) if (keep(i.hash)) edges.push(edge(artifact(i.hash, i.path), `j${j.id}`, i.path));
    for (const o of j.outputs) if (keep(o.hash)) edges.push(edge(`j${j.id}`, artifact(o.hash, o.path), o.path));
  }
  return { nodes: [...nodes.values()], edges, totalSteps: jobs.length, staleCount: 0, expanded: false };
}

/** Jobs only: an edge from producer to consumer for each artifact they share. */
function jobsOnly(jobs: JobWithIo[]): DagPicture {
  const producer = new Map<string, number>();
  for (const j of jobs) for (const o of j.outputs) producer.set(o.hash, j.id);
  const edges = new Map<string, PictureEdge>();
  for (const j of jobs)
    for (const i of j.inputs) {
      const from = producer.get(i.hash);
      if (from === undefined || from === j.id) continue;
      const key = `${from}>${j.id}`;
      const e = edges.get(key) ?? edge(`j${from}`, `j${j.id}`, "");
      if (e.paths.length < 3) e.paths.push(i.path);
      edges.set(key, e);
    }
  return {
    nodes: jobs.map(jobNode),
    edges: [...edges.values()],
    totalSteps: jobs.length,
    staleCount: 0,
    expanded: false,
  };
}

function svg(picture: DagPicture, title: string): string {
  // Inline in HTML: no XML declaration.
  return renderDagSvg(picture, { legend: false, title }).replace(/^<\?xml[^>]*>\n/, "");
}

/** The upstream lineage of an artifact: only the artifacts on its paths, the artifact itself highlighted. */
export function lineageSvg(target: string, jobs: JobWithIo[]): string {
  const onPath = new Set<string>([target, ...jobs.flatMap((j) => j.inputs.map((i) => i.hash))]);
  return svg(
    bipartite(jobs, (h) => onPath.has(h), target),
    "upstream lineage",
  );
}

/** A session's pipeline. */
export function sessionSvg(jobs: JobWithIo[]): string {
  const artifacts = new Set(jobs.flatMap((j) => [...j.inputs, ...j.outputs].map((a) => a.hash)));
  const picture = artifacts.size <= MAX_ARTIFACT_NODES ? bipartite(jobs, () => true) : jobsOnly(jobs);
  return svg(picture, "session pipeline");
}
