/**
 * `roar dag --format dot|mermaid|svg`: writers for the picture model (ui/dag-picture.ts), each escaping every
 * user string for its own syntax (DOT quoting, Mermaid entity codes, XML in ui/dag-svg.ts).
 */
import { COLOURS, colourOf, type DagPicture, printable } from "./dag-picture.ts";
import { renderDagSvg } from "./dag-svg.ts";

export const PICTURE_FORMATS = ["dot", "mermaid", "svg"] as const;
export type PictureFormat = (typeof PICTURE_FORMATS)[number];

// ── DOT ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A DOT double-quoted string: backslashes and quotes escaped, line breaks as `\n`. */
export function dotString(text: string): string {
  return `"${printable(text)
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r?\n|\r/g, "\\n")
    .replace(/\t/g, " ")}"`;
}

/** Edges touching an artifact node need no path label: the node shows it. */
function artifactIds(p: DagPicture): Set<string> {
  return new Set(p.nodes.filter((n) => n.kind === "artifact").map((n) => n.id));
}

const MAX_LABEL = 60;
const cut = (text: string) => (text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text);

export function renderDagDot(p: DagPicture): string {
  const out = [
    "digraph roar {",
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9, color="#666666"];',
  ];
  for (const n of p.nodes) {
    const c = colourOf(n.state);
    const attrs =
      n.kind === "step"
        ? [
            `label=${dotString(`${n.title}\n${cut(n.subtitle)}`)}`,
            `shape=${n.isBuild ? "component" : "box"}`,
            `style="rounded,filled${n.state === "superseded" ? ",dashed" : ""}"`,
            `class=${dotString(`step ${n.state}${n.isBuild ? " build" : ""}`)}`,
          ]
        : [
            `label=${dotString(cut(n.title))}`,
            "shape=note",
            'style="filled"',
            `class=${dotString(`artifact ${n.state}`)}`,
          ];
    attrs.push(
      `color="${c.stroke}"`,
      `fillcolor="${c.fill}"`,
      `fontcolor="${c.text}"`,
      `tooltip=${dotString(n.tooltip)}`,
    );
    out.push(`  ${dotString(n.id)} [${attrs.join(", ")}];`);
  }
  const artifacts = artifactIds(p);
  for (const e of p.edges) {
    const attrs: string[] = [];
    if (e.kind === "superseded") attrs.push('style="dashed"', 'arrowhead="none"', 'class="superseded"');
    else if (e.paths.length > 0 && !artifacts.has(e.from) && !artifacts.has(e.to)) {
      attrs.push(`label=${dotString(cut(e.paths.join(", ")))}`);
    }
    if (e.stale) attrs.push(`color="${COLOURS.stale.stroke}"`, 'class="stale"');
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${attrs.length ? ` [${attrs.join(", ")}]` : ""};`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

// ── Mermaid ─────────────────────────────────────────────────────────────────────────────────────────────

const MERMAID_ENTITIES: Record<string, string> = {
  '"': "#34;",
  "#": "#35;",
  "&": "#38;",
  "<": "#60;",
  ">": "#62;",
  "`": "#96;",
  "|": "#124;",
};

/** Text for a quoted Mermaid label: markup characters as Mermaid entity codes, line breaks as spaces. */
export function mermaidText(text: string): string {
  return printable(text)
    .replace(/\s+/g, " ")
    .replace(/["#&<>`|]/g, (c) => MERMAID_ENTITIES[c] as string);
}

export function renderDagMermaid(p: DagPicture): string {
  const out = ["flowchart LR"];
  for (const n of p.nodes) {
    if (n.kind === "step") {
      const label = `"${mermaidText(n.title)}<br/>${mermaidText(cut(n.subtitle))}"`;
      out.push(`  ${n.id}${n.isBuild ? `[[${label}]]` : `[${label}]`}`);
    } else out.push(`  ${n.id}[/"${mermaidText(cut(n.title))}"/]`);
  }
  const artifacts = artifactIds(p);
  for (const e of p.edges) {
    if (e.kind === "superseded") out.push(`  ${e.from} -.- ${e.to}`);
    else if (e.paths.length > 0 && !artifacts.has(e.from) && !artifacts.has(e.to)) {
      out.push(`  ${e.from} -->|"${mermaidText(cut(e.paths.join(", ")))}"| ${e.to}`);
    } else out.push(`  ${e.from} --> ${e.to}`);
  }
  for (const [state, c] of Object.entries(COLOURS)) {
    out.push(`  classDef ${state} fill:${c.fill},stroke:${c.stroke},color:${c.text}`);
  }
  const byState = new Map<string, string[]>();
  for (const n of p.nodes) byState.set(n.state, [...(byState.get(n.state) ?? []), n.id]);
  for (const [state, ids] of byState) out.push(`  class ${ids.join(",")} ${state}`);
  const staleLinks = p.edges.flatMap((e, i) => (e.stale ? [i] : []));
  if (staleLinks.length > 0) out.push(`  linkStyle ${staleLinks.join(",")} stroke:${COLOURS.stale.stroke}`);
  return `${out.join("\n")}\n`;
}

export function renderDagPicture(p: DagPicture, format: PictureFormat): string {
  if (format === "dot") return renderDagDot(p);
  if (format === "mermaid") return renderDagMermaid(p);
  return renderDagSvg(p);
}

/** The format an output file's extension names (`.svg`, `.dot`/`.gv`, `.mmd`/`.mermaid`). */
export function formatOfPath(path: string): PictureFormat | null {
  const ext = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext === "svg") return "svg";
  if (ext === "dot" || ext === "gv") return "dot";
  if (ext === "mmd" || ext === "mermaid") return "mermaid";
  return null;
}
