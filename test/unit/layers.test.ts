/**
 * The layering of CONTRIBUTING.md, checked on the source: every runtime import between folders of src/ must point
 * down the table below, and core/ stays pure (no file system, no processes, no printing). Type-only imports are
 * erased at build time and may cross layers (a view type named where it is rendered).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "../../src");

/** What each layer may import at run time (besides itself and shared/). `*` is everything. */
const ALLOWED: Record<string, readonly string[] | "*"> = {
  // Applications: parse input, call services, render.
  main: "*",
  commands: "*",
  server: ["ui", "registry", "auth", "core", "schema", "store", "config", "main"],
  // Services: combine the store, the file system, hashing, tracing and the network.
  run: ["core", "schema", "config", "store", "hash", "trace", "capture", "auth", "registry"],
  registry: ["core", "schema", "config", "store", "hash", "capture", "auth", "run", "transfer"],
  transfer: ["core", "schema", "config", "store", "hash", "capture", "run"],
  // Presentation: knows the terminal, never the store.
  ui: ["core", "schema", "config"],
  // Foundations.
  store: ["core", "schema", "hash"],
  trace: ["core", "schema"],
  capture: ["core", "schema"],
  hash: ["schema"],
  config: ["core", "schema"],
  auth: ["core", "schema"],
  core: ["schema"],
  schema: [],
  shared: [],
};

/** Modules core/ must not touch: it is pure logic over plain objects. */
const IMPURE = /^(node:(fs|child_process|net|http|https|os|worker_threads)|bun:(sqlite|ffi)|bun)$/;

interface Import {
  from: string;
  spec: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue; // src/.bundle is generated
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^;"']*?\s+from\s+)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(STATIC)) {
    // `import { type A, type B }` is type-only too.
    const clause = m[0];
    const braces = /\{([^}]*)\}/.exec(clause)?.[1];
    const withDefaultOrStar = /^\s*(import|export)\s+(?!\{|type\s)[A-Za-z_$*]/.test(clause);
    const allTypes =
      braces !== undefined &&
      !withDefaultOrStar &&
      braces
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith("type "));
    out.push({ from: file, spec: m[3] as string, typeOnly: m[2] !== undefined || allTypes });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ from: file, spec: m[1] as string, typeOnly: false });
  return out;
}

function layerOf(path: string): string {
  const rel = relative(SRC, path);
  if (rel.startsWith("..")) return "main"; // package.json and friends
  const parts = rel.split("/");
  return parts.length > 1 ? (parts[0] as string) : "main";
}

/** Runtime imports that point up or sideways, as `from → to`. */
function crossings(list: readonly Import[]): string[] {
  const wrong: string[] = [];
  for (const imp of list) {
    if (imp.typeOnly || !imp.spec.startsWith(".")) continue;
    const target = normalize(join(dirname(imp.from), imp.spec));
    const from = layerOf(imp.from);
    const to = layerOf(target);
    const allowed = ALLOWED[from];
    if (to === from || to === "shared" || allowed === "*" || allowed?.includes(to)) continue;
    wrong.push(`${relative(SRC, imp.from)} → ${relative(SRC, target)}`);
  }
  return wrong;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);

describe("layers", () => {
  test("every folder of src/ has a place in the table", () => {
    const layers = new Set(files.map(layerOf));
    expect([...layers].filter((l) => !(l in ALLOWED))).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
    expect(imports.length).toBeGreaterThan(500);
  });

  test("runtime imports point down", () => {
    expect(crossings(imports)).toEqual([]);
  });

  test("core/ is pure: no file system, processes, SQLite or printing", () => {
    const wrong: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === "core")) {
      for (const imp of importsOf(file)) if (!imp.typeOnly && IMPURE.test(imp.spec)) wrong.push(`${file}: ${imp.spec}`);
      const text = readFileSync(file, "utf8");
      if (/\bconsole\.|process\.(stdout|stderr)|Bun\.(file|write|spawn)/.test(text))
        wrong.push(`${file}: prints or spawns`);
    }
    expect(wrong).toEqual([]);
  });

  test("the checker sees a violation when there is one", () => {
    // The same rule on made-up imports, so a broken pattern cannot pass vacuously.
    const core = join(SRC, "core/x.ts");
    expect(crossings([{ from: core, spec: "../store/store.ts", typeOnly: false }])).toEqual([
      "core/x.ts → store/store.ts",
    ]);
    expect(crossings([{ from: core, spec: "../store/store.ts", typeOnly: true }])).toEqual([]);
    expect(crossings([{ from: join(SRC, "commands/x.ts"), spec: "../store/store.ts", typeOnly: false }])).toEqual([]);
    // The parser tells `import type` and `import { type A }` from value imports.
    expect(imports.some((i) => i.typeOnly)).toBe(true);
    expect(imports.some((i) => !i.typeOnly && i.spec.endsWith("store/store.ts"))).toBe(true);
  });
});
