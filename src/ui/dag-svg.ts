/**
 * The pipeline as a self-contained SVG (no Graphviz): boxes for steps, tags for artifacts, curved edges, stale
 * steps in red and a legend. Layout by core/dag-layout.ts; every user string XML-escaped. Each node is a
 * `<g class="node step|artifact <state>" data-id=…>` so a web page can style or script it.
 */
import { layoutGraph, type RoutedEdge } from "../core/dag-layout.ts";
import { COLOURS, colourOf, type DagPicture, type PictureEdge, type PictureNode, printable } from "./dag-picture.ts";

const FONT_SIZE = 12;
/** Monospace advance at FONT_SIZE: text widths are known without font metrics. */
const CHAR_WIDTH = 7.3;
const PAD_X = 10;
const STEP_HEIGHT = 42;
const ARTIFACT_HEIGHT = 26;
const MAX_CHARS = 48;

/** Text content or attribute value: markup characters as entities, characters XML 1.0 forbids replaced. */
export function xmlEscape(text: string): string {
  return printable(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shorten(text: string, max = MAX_CHARS): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

const textWidth = (text: string) => [...text].length * CHAR_WIDTH;

function size(n: PictureNode): { width: number; height: number } {
  if (n.kind === "artifact") return { width: textWidth(shorten(n.title)) + 2 * PAD_X + 8, height: ARTIFACT_HEIGHT };
  const w = Math.max(textWidth(n.title), textWidth(shorten(n.subtitle)));
  return { width: Math.max(w + 2 * PAD_X, 60), height: STEP_HEIGHT };
}

const f = (x: number) => (Math.round(x * 10) / 10).toString();

/** Cubic segments with horizontal tangents through the routed points. */
function edgePath(e: RoutedEdge<PictureEdge>): string {
  const [first, ...rest] = e.points;
  if (!first) return "";
  let d = `M${f(first.x)},${f(first.y)}`;
  let prev = first;
  for (const p of rest) {
    if (p.y === prev.y) d += ` L${f(p.x)},${f(p.y)}`;
    else {
      const mid = (prev.x + p.x) / 2;
      d += ` C${f(mid)},${f(prev.y)} ${f(mid)},${f(p.y)} ${f(p.x)},${f(p.y)}`;
    }
    prev = p;
  }
  return d;
}

function nodeSvg(n: PictureNode, x: number, y: number, width: number, height: number): string {
  const c = colourOf(n.state);
  const classes = `node ${n.kind} ${n.state}${n.isBuild ? " build" : ""}`;
  const link = n.href !== undefined ? `<a href="${xmlEscape(n.href)}">` : "";
  const head = `<g class="${classes}" data-id="${xmlEscape(n.id)}" transform="translate(${f(x)},${f(y)})">${link}`;
  const tail = n.href !== undefined ? "</a></g>" : "</g>";
  const title = `<title>${xmlEscape(n.tooltip)}</title>`;
  const dash = n.state === "superseded" ? ' stroke-dasharray="4 3"' : "";
  if (n.kind === "artifact") {
    // A tag shape: a box with a folded corner.
    const shape = `<path d="M0,0 H${f(width - 8)} L${f(width)},8 V${f(height)} H0 Z" fill="${c.fill}" stroke="${c.stroke}"${dash}/>`;
    const text = `<text x="${PAD_X}" y="${f(height / 2 + 4)}" fill="${c.text}">${xmlEscape(shorten(n.title))}</text>`;
    return `${head}${title}${shape}${text}${tail}`;
  }
  const stroke = n.isBuild ? ' stroke-width="2.5"' : ' stroke-width="1.5"';
  const box = `<rect width="${f(width)}" height="${f(height)}" rx="6" fill="${c.fill}" stroke="${c.stroke}"${stroke}${dash}/>`;
  const label = `<text x="${PAD_X}" y="17" font-weight="bold" fill="${c.text}">${xmlEscape(n.title)}</text>`;
  const sub = `<text x="${PAD_X}" y="33" fill="#333333">${xmlEscape(shorten(n.subtitle))}</text>`;
  return `${head}${title}${box}${label}${sub}${tail}`;
}

function legendSvg(p: DagPicture, y: number): { svg: string; width: number; height: number } {
  const items: { text: string; colour: { stroke: string; fill: string }; dashed?: boolean }[] = [
    { text: "step", colour: COLOURS.active },
    { text: "stale step * (an input changed upstream)", colour: COLOURS.stale },
  ];
  if (p.nodes.some((n) => n.isBuild)) items.push({ text: "build step @BN (thick border)", colour: COLOURS.active });
  if (p.nodes.some((n) => n.kind === "artifact")) items.push({ text: "artifact", colour: COLOURS.active });
  if (p.expanded) items.push({ text: "superseded run", colour: COLOURS.superseded, dashed: true });
  let x = 16;
  const parts: string[] = [];
  for (const item of items) {
    const dash = item.dashed ? ' stroke-dasharray="4 3"' : "";
    parts.push(
      `<rect x="${x}" y="${y}" width="14" height="14" rx="3" fill="${item.colour.fill}" stroke="${item.colour.stroke}"${dash}/>`,
      `<text x="${x + 20}" y="${y + 11}" fill="#444444">${xmlEscape(item.text)}</text>`,
    );
    x += 20 + textWidth(item.text) + 24;
  }
  const summary = `${p.totalSteps} step${p.totalSteps === 1 ? "" : "s"}${p.staleCount > 0 ? `, ${p.staleCount} stale` : ""}`;
  parts.push(`<text x="16" y="${y + 34}" fill="#666666">${xmlEscape(summary)}</text>`);
  return { svg: `<g class="legend" font-size="11">${parts.join("")}</g>`, width: x, height: 44 };
}

export interface SvgOptions {
  /** The legend of step colours (default true; a picture that is not a pipeline of steps leaves it out). */
  legend?: boolean;
  /** The document's <title>. */
  title?: string;
}

export function renderDagSvg(p: DagPicture, options: SvgOptions = {}): string {
  const sizes = new Map(p.nodes.map((n) => [n.id, size(n)]));
  const layout = layoutGraph(
    p.nodes.map((n) => ({ id: n.id, ...(sizes.get(n.id) as { width: number; height: number }) })),
    p.edges,
    { layerGap: 56, nodeGap: 18, margin: 16 },
  );
  const body: string[] = [];
  if (p.nodes.length === 0) {
    body.push(`<text x="16" y="32" fill="#666666">${xmlEscape("No steps recorded in this session.")}</text>`);
  }
  body.push('<g class="edges" fill="none">');
  for (const edge of layout.edges) {
    const colour = edge.stale
      ? COLOURS.stale.stroke
      : edge.kind === "superseded"
        ? COLOURS.superseded.stroke
        : "#777777";
    const marker = edge.kind === "superseded" ? "" : ` marker-end="url(#${edge.stale ? "arrow-stale" : "arrow"})"`;
    const dash = edge.kind === "superseded" ? ' stroke-dasharray="4 3"' : "";
    const title = edge.paths.length > 0 ? `<title>${xmlEscape(edge.paths.join(", "))}</title>` : "";
    const cls = `edge ${edge.kind}${edge.stale ? " stale" : ""}`;
    body.push(
      `<path class="${cls}" d="${edgePath(edge)}" stroke="${colour}" stroke-width="1.4"${dash}${marker}>${title}</path>`,
    );
  }
  body.push("</g>", '<g class="nodes">');
  for (const n of p.nodes) {
    const placed = layout.nodes.get(n.id);
    if (placed) body.push(nodeSvg(n, placed.x, placed.y, placed.width, placed.height));
  }
  body.push("</g>");
  const graphHeight = p.nodes.length === 0 ? 48 : layout.height;
  const legend = options.legend === false ? { svg: "", width: 0, height: 0 } : legendSvg(p, graphHeight + 4);
  const width = Math.ceil(Math.max(layout.width, legend.width));
  const height = Math.ceil(graphHeight + 4 + legend.height);
  const arrow = (id: string, colour: string) =>
    `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${colour}"/></marker>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${FONT_SIZE}">`,
    `<title>${xmlEscape(options.title ?? "roar pipeline")}</title>`,
    `<defs>${arrow("arrow", "#777777")}${arrow("arrow-stale", COLOURS.stale.stroke)}</defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    legend.svg,
    "</svg>",
    "",
  ].join("\n");
}
