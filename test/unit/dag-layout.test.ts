import { expect, test } from "bun:test";
import { layoutGraph } from "../../src/core/dag-layout.ts";

const box = (id: string, width = 80) => ({ id, width, height: 30 });

test("longest-path layers, columns left to right, no overlaps within a column", () => {
  const l = layoutGraph(
    [box("a"), box("b", 200), box("c"), box("d")],
    [
      { from: "a", to: "b" },
      { from: "a", to: "c" },
      { from: "b", to: "d" },
      { from: "c", to: "d" },
      { from: "a", to: "d" },
    ],
  );
  const n = (id: string) => l.nodes.get(id) as { x: number; y: number; layer: number; height: number };
  expect(["a", "b", "c", "d"].map((id) => n(id).layer)).toEqual([0, 1, 1, 2]);
  expect(n("b").x).toBe(n("c").x);
  // The column is as wide as its widest node (b): d starts after it.
  expect(n("d").x).toBeGreaterThanOrEqual(n("b").x + 200);
  const [upper, lower] = [n("b"), n("c")].sort((p, q) => p.y - q.y);
  expect((lower as { y: number }).y).toBeGreaterThanOrEqual((upper as { y: number; height: number }).y + 30);
  // a → d crosses layer 1 through a slot of its own, from a's right side to d's left side.
  const long = l.edges.find((e) => e.from === "a" && e.to === "d");
  expect(long?.points.length).toBe(4);
  expect(long?.points[0]).toEqual({ x: n("a").x + 80, y: n("a").y + 15 });
  expect(long?.points.at(-1)).toEqual({ x: n("d").x, y: n("d").y + 15 });
  expect(l.width).toBeGreaterThan(n("d").x + 80);
});

test("barycentre ordering removes avoidable crossings", () => {
  // a1→b2 and a2→b1 cross when kept in input order.
  const l = layoutGraph(
    [box("a1"), box("a2"), box("b1"), box("b2")],
    [
      { from: "a1", to: "b2" },
      { from: "a2", to: "b1" },
    ],
  );
  const y = (id: string) => l.nodes.get(id)?.y ?? 0;
  expect(Math.sign(y("a1") - y("a2"))).toBe(Math.sign(y("b2") - y("b1")));
});

test("cycles and self-loops are drawn, not looped on", () => {
  const l = layoutGraph(
    [box("x"), box("y")],
    [
      { from: "x", to: "y" },
      { from: "y", to: "x" },
      { from: "x", to: "x" },
      { from: "x", to: "missing" },
    ],
  );
  expect(l.edges.map((e) => [e.from, e.to])).toEqual([
    ["x", "y"],
    ["y", "x"],
  ]);
  // The back edge starts at its real source.
  const back = l.edges[1];
  expect(back?.points[0]?.x).toBe(l.nodes.get("y")?.x);
});
