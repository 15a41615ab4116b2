/** `roar dag --format dot|mermaid|svg [-o FILE]` on a real 3-step pipeline with stale steps. */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, roar } from "../helpers/cli.ts";
import { pipelineRepo, run, runAvailable } from "./dag-e2e.ts";

const T = 180_000;
const WEIRD = 'c<&">.txt';

/** @1 data.txt → a.txt, @2 a.txt → b.txt, @3 b.txt → c<&">.txt; then @1 re-run on new data: @2 and @3 stale. */
async function stalePipeline(): Promise<string> {
  const repo = await pipelineRepo({ "data.txt": "one\n" });
  await run(repo, ["python3", "step.py", "data.txt", "a.txt"]);
  await run(repo, ["python3", "step.py", "a.txt", "b.txt"]);
  await run(repo, ["python3", "step.py", "b.txt", WEIRD]);
  writeFileSync(join(repo, "data.txt"), "two\n");
  commitAll(repo, "new data");
  await run(repo, ["python3", "step.py", "data.txt", "a.txt"]);
  return repo;
}

interface DotGraph {
  nodes: Map<string, Map<string, string>>;
  edges: { from: string; to: string; attrs: Map<string, string> }[];
}

/** A small DOT reader: quoted strings with escapes, `id [k=v, …];` and `a -> b [k=v];` statements. */
function parseDot(text: string): DotGraph {
  const tokens: string[] = [];
  const re = /\s+|"((?:[^"\\]|\\.)*)"|(->|[{}[\]=,;])|([A-Za-z0-9_.#]+)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length) {
    m = re.exec(text);
    if (!m) throw new Error(`DOT syntax error at ${re.lastIndex}: ${text.slice(re.lastIndex, re.lastIndex + 20)}`);
    if (m[1] !== undefined) tokens.push(`"${m[1].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))}`);
    else if (m[2] ?? m[3]) tokens.push((m[2] ?? m[3]) as string);
  }
  const value = (t: string | undefined) => (t?.startsWith('"') ? t.slice(1) : (t ?? ""));
  let i = 0;
  const next = () => tokens[i++] as string;
  const expectToken = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`expected ${t}, got ${got}`);
  };
  const attrs = () => {
    const out = new Map<string, string>();
    if (tokens[i] !== "[") return out;
    i++;
    while (tokens[i] !== "]") {
      const k = value(next());
      expectToken("=");
      out.set(k, value(next()));
      if (tokens[i] === ",") i++;
    }
    i++;
    return out;
  };
  expectToken("digraph");
  next();
  expectToken("{");
  const g: DotGraph = { nodes: new Map(), edges: [] };
  while (tokens[i] !== "}") {
    const first = next();
    if (tokens[i] === "=") {
      i += 2; // graph attribute: rankdir=LR
    } else if (tokens[i] === "->") {
      i++;
      const to = value(next());
      g.edges.push({ from: value(first), to, attrs: attrs() });
    } else if (first === "node" || first === "edge") attrs();
    else g.nodes.set(value(first), attrs());
    expectToken(";");
  }
  expect(i).toBe(tokens.length - 1);
  return g;
}

interface SvgNode {
  cls: string;
  id: string;
  texts: string[];
}

/** Parses the SVG as XML (Python's minidom, strict) and lists its node groups with their text content. */
function svgNodes(file: string): SvgNode[] {
  const script = `import json, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
out = []
for g in doc.getElementsByTagName("g"):
    cls = g.getAttribute("class")
    if cls.startswith("node "):
        texts = ["".join(n.data for n in t.childNodes if n.nodeType == n.TEXT_NODE) for t in g.getElementsByTagName("text")]
        out.append({"cls": cls, "id": g.getAttribute("data-id"), "texts": texts})
print(json.dumps(out))`;
  const r = Bun.spawnSync(["python3", "-c", script, file], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`not well-formed XML: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as SvgNode[];
}

describe.skipIf(!runAvailable)("roar dag --format", () => {
  test(
    "DOT: a node per step and terminal artifact, edges by content, stale marks, escaped labels",
    async () => {
      const repo = await stalePipeline();
      const r = await roar(["dag", "--format", "dot"], { cwd: repo });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const g = parseDot(r.stdout);
      const steps = [...g.nodes].filter(([, a]) => a.get("class")?.startsWith("step"));
      expect(steps.map(([id, a]) => [id, a.get("class")])).toEqual([
        ["s1", "step active"],
        ["s2", "step stale"],
        ["s3", "step stale"],
      ]);
      expect(g.nodes.get("s2")?.get("color")).toBe("#d62728");
      expect(g.nodes.get("s3")?.get("label")).toBe(`@3 *\npython3 step.py b.txt '${WEIRD}'`);
      const artifacts = [...g.nodes].filter(([, a]) => a.get("class")?.startsWith("artifact"));
      expect(artifacts.map(([, a]) => a.get("label"))).toEqual([WEIRD]);
      expect(g.edges.map((e) => [e.from, e.to, e.attrs.get("label") ?? null, e.attrs.get("class") ?? null])).toEqual([
        ["s3", artifacts[0]?.[0] ?? "", null, null],
        ["s1", "s2", "a.txt", "stale"],
        ["s2", "s3", "b.txt", null],
      ]);

      // --show-artifacts: every artifact is a node between its producer and its consumers.
      const all = parseDot((await roar(["dag", "--format", "dot", "--show-artifacts"], { cwd: repo })).stdout);
      const labels = [...all.nodes.values()]
        .filter((a) => a.get("class")?.startsWith("artifact"))
        .map((a) => a.get("label"));
      expect(labels.sort()).toEqual(["a.txt", "b.txt", WEIRD].sort());
      expect(all.edges.length).toBe(5);
      expect(all.edges.some((e) => e.from === "s1" && e.to === "s2")).toBe(false);
    },
    T,
  );

  test(
    "Mermaid: the edges, stale class and entity-escaped labels",
    async () => {
      const repo = await stalePipeline();
      const r = await roar(["dag", "--format", "mermaid"], { cwd: repo });
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toBe("flowchart LR");
      expect(lines).toContain('  s1 -->|"a.txt"| s2');
      expect(lines).toContain('  s2 -->|"b.txt"| s3');
      expect(lines.filter((l) => / --> a\d+$/.test(l))).toEqual(["  s3 --> a0"]);
      expect(lines).toContain("  class s2,s3,a0 stale");
      expect(lines).toContain("  class s1 active");
      expect(lines).toContain(`  s3["@3 *<br/>python3 step.py b.txt 'c#60;#38;#34;#62;.txt'"]`);
      // No raw markup from the user's strings anywhere in the labels.
      expect(r.stdout).not.toContain(WEIRD);
    },
    T,
  );

  test(
    "SVG via -o: well-formed XML, one group per step, escaped text, nothing on stdout, atomic replace",
    async () => {
      const repo = await stalePipeline();
      const file = join(repo, "pipeline.svg");
      writeFileSync(file, "old contents");
      // The format follows the extension.
      const r = await roar(["dag", "-o", "pipeline.svg"], { cwd: repo });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      const text = readFileSync(file, "utf8");
      expect(text).toStartWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"');
      const nodes = svgNodes(file);
      const steps = nodes.filter((n) => n.cls.startsWith("node step"));
      expect(steps.map((n) => [n.id, n.cls])).toEqual([
        ["s1", "node step active"],
        ["s2", "node step stale"],
        ["s3", "node step stale"],
      ]);
      expect(steps[2]?.texts).toEqual(["@3 *", `python3 step.py b.txt '${WEIRD}'`]);
      expect(nodes.filter((n) => n.cls.startsWith("node artifact")).map((n) => n.texts)).toEqual([[WEIRD]]);
      expect(text).toContain("c&#60;&#38;&#34;&#62;.txt");
      expect(text).toMatch(/<path class="edge data stale" d="M[^"]+" stroke="#d62728"/);
      expect(text).toContain('<g class="legend"');
      // No temporary file left beside it.
      expect(readdirSync(repo).filter((f) => f.includes("roar-tmp"))).toEqual([]);

      // Without -o the same document goes to stdout.
      const stdout = await roar(["dag", "--format", "svg"], { cwd: repo });
      expect(stdout.stdout).toBe(text);
    },
    T,
  );

  test(
    "bad formats and unwritable files: one line on stderr, nothing written",
    async () => {
      const repo = await stalePipeline();
      const png = await roar(["dag", "--format", "png"], { cwd: repo });
      expect(png.code).toBe(2);
      expect(png.stderr).toBe("roar: unknown format 'png': use dot, mermaid or svg\n");
      const unknown = await roar(["dag", "-o", "pipeline.txt"], { cwd: repo });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toStartWith("roar: cannot tell the format of 'pipeline.txt'");
      const both = await roar(["dag", "--format", "dot", "--json"], { cwd: repo });
      expect(both.code).toBe(2);
      const noDir = await roar(["dag", "--format", "svg", "-o", "missing/p.svg"], { cwd: repo });
      expect(noDir.code).toBe(1);
      expect(noDir.stderr).toMatch(/^roar: cannot write .*missing\/p\.svg: no such directory\n$/);
      expect(existsSync(join(repo, "missing"))).toBe(false);
      expect(`${png.stdout}${unknown.stdout}${both.stdout}${noDir.stdout}`).toBe("");
    },
    T,
  );
});
