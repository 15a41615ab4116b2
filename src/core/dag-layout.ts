/**
 * A layered drawing of a directed graph, left to right (what `roar dag --format svg` and a web UI draw):
 *
 * 1. Cycles (possible between re-runs) are broken by reversing DFS back edges.
 * 2. Longest-path layering: a node sits one layer right of its furthest predecessor.
 * 3. Edges spanning several layers get a dummy node per crossed layer, so they route between the boxes.
 * 4. Barycentre ordering: alternating sweeps order each layer by the mean position of its neighbours in the
 *    layer before (or after); the order with the fewest crossings is kept.
 * 5. Coordinates: layers are columns as wide as their widest node; within a column nodes move towards the mean
 *    height of their neighbours, keeping their order and a minimum gap.
 *
 * Pure: sizes in, positions and edge routes out. Steps 1, 2 and 4 are in dag-layout-order.ts.
 */
import { assignLayers, orderLayers } from "./dag-layout-order.ts";

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
}

export interface LayoutOptions {
  /** Horizontal gap between layers. */
  layerGap?: number;
  /** Vertical gap between nodes of one layer. */
  nodeGap?: number;
  /** Space around the drawing. */
  margin?: number;
}

export interface PlacedNode extends LayoutNode {
  /** Top-left corner. */
  x: number;
  y: number;
  layer: number;
}

/** An edge as given (extra fields kept), with its route. */
export type RoutedEdge<E extends LayoutEdge = LayoutEdge> = E & {
  /** From the source's right side through each crossed layer to the target's left side. */
  points: { x: number; y: number }[];
};

export interface Layout<E extends LayoutEdge = LayoutEdge> {
  nodes: Map<string, PlacedNode>;
  /** The edges between two distinct known nodes, in the order given. */
  edges: RoutedEdge<E>[];
  width: number;
  height: number;
}

interface Item {
  id: string;
  width: number;
  height: number;
  layer: number;
  dummy: boolean;
  y: number;
}

const DUMMY_HEIGHT = 8;
const MIN_DUMMY_BUDGET = 5000;
const DUMMIES_PER_NODE = 8;

/**
 * Moves the nodes of one layer as close to their wished tops as their order and the gap allow (least squares:
 * overlapping runs are merged into blocks placed at their members' mean wish).
 */
function placeInOrder(layer: Item[], wishes: number[], gap: number): void {
  // A block: members first..last, S = Σ (wish - offset in block), n members, H = block height.
  const blocks: { first: number; last: number; sum: number; n: number; height: number }[] = [];
  layer.forEach((it, i) => {
    let block = { first: i, last: i, sum: wishes[i] as number, n: 1, height: it.height };
    for (
      let prev = blocks.at(-1);
      prev && prev.sum / prev.n + prev.height + gap > block.sum / block.n;
      prev = blocks.at(-1)
    ) {
      blocks.pop();
      const shift = prev.height + gap;
      block = {
        first: prev.first,
        last: block.last,
        sum: prev.sum + block.sum - block.n * shift,
        n: prev.n + block.n,
        height: prev.height + gap + block.height,
      };
    }
    blocks.push(block);
  });
  for (const b of blocks) {
    let y = b.sum / b.n;
    for (let i = b.first; i <= b.last; i++) {
      const it = layer[i] as Item;
      it.y = y;
      y += it.height + gap;
    }
  }
}

export function layoutGraph<E extends LayoutEdge>(
  nodes: readonly LayoutNode[],
  edges: readonly E[],
  options: LayoutOptions = {},
): Layout<E> {
  const layerGap = options.layerGap ?? 60;
  const nodeGap = options.nodeGap ?? 24;
  const margin = options.margin ?? 16;
  const known = new Set(nodes.map((n) => n.id));
  const valid = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  const layerOf = assignLayers(
    nodes.map((n) => n.id),
    valid,
  );

  const items = new Map<string, Item>();
  for (const n of nodes) {
    items.set(n.id, { id: n.id, width: n.width, height: n.height, layer: layerOf.get(n.id) ?? 0, dummy: false, y: 0 });
  }
  // Each edge as a chain of items from its left end to its right end (dummies in between). Shorter edges get
  // their dummies first; past a budget (huge generated graphs) long edges are drawn as a direct curve.
  const span = (e: E) => Math.abs((items.get(e.to) as Item).layer - (items.get(e.from) as Item).layer);
  const byspan = valid.map((e, i) => ({ e, i, span: span(e) })).sort((p, q) => p.span - q.span || p.i - q.i);
  let budget = Math.max(MIN_DUMMY_BUDGET, DUMMIES_PER_NODE * nodes.length);
  const routedIds = new Map<number, string[]>();
  let dummies = 0;
  for (const { e, i, span: s } of byspan) {
    const a = items.get(e.from) as Item;
    const b = items.get(e.to) as Item;
    const [left, right] = a.layer <= b.layer ? [a, b] : [b, a];
    const ids = [left.id];
    routedIds.set(i, ids);
    if (s - 1 > budget) {
      ids.push(right.id);
      continue;
    }
    budget -= Math.max(0, s - 1);
    for (let l = left.layer + 1; l < right.layer; l++) {
      const id = `\0dummy${dummies++}`;
      items.set(id, { id, width: 0, height: DUMMY_HEIGHT, layer: l, dummy: true, y: 0 });
      ids.push(id);
    }
    ids.push(right.id);
  }
  const chains = valid.map((edge, i) => ({ edge, ids: routedIds.get(i) as string[] }));
  let layerCount = 0;
  for (const it of items.values()) layerCount = Math.max(layerCount, it.layer + 1);
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  for (const item of items.values()) layers[item.layer]?.push(item.id);

  // Neighbours one layer left / right, from the chains.
  const leftOf = new Map<string, string[]>();
  const rightOf = new Map<string, string[]>();
  for (const { ids } of chains) {
    for (let i = 0; i + 1 < ids.length; i++) {
      const a = ids[i] as string;
      const b = ids[i + 1] as string;
      // Only links between adjacent layers order the layers (an unrouted long edge does not).
      if ((items.get(b) as Item).layer - (items.get(a) as Item).layer !== 1) continue;
      const r = rightOf.get(a);
      if (r) r.push(b);
      else rightOf.set(a, [b]);
      const l = leftOf.get(b);
      if (l) l.push(a);
      else leftOf.set(b, [a]);
    }
  }

  const order = orderLayers(layers, leftOf, rightOf);

  // x: columns as wide as their widest node.
  const columnX: number[] = [];
  const columnWidth: number[] = [];
  let x = margin;
  for (const layer of order) {
    columnX.push(x);
    columnWidth.push(Math.max(0, ...layer.map((id) => (items.get(id) as Item).width)));
    x += (columnWidth[columnWidth.length - 1] as number) + layerGap;
  }
  const width = Math.max(x - layerGap + margin, 2 * margin);

  // y: packed first, then each node pulled towards the mean centre of its neighbours on both sides (sweeping
  // left-to-right, then right-to-left); overlaps are resolved by moving whole runs of nodes to their mean
  // wish, so nothing drifts in one direction.
  const centre = (id: string) => {
    const it = items.get(id) as Item;
    return it.y + it.height / 2;
  };
  let floor = margin;
  for (const layer of order) {
    floor = margin;
    for (const id of layer) {
      const it = items.get(id) as Item;
      it.y = floor;
      floor += it.height + nodeGap;
    }
  }
  for (let pass = 0; pass < 6; pass++) {
    for (const layer of pass % 2 === 0 ? order : [...order].reverse()) {
      const wishes = layer.map((id) => {
        const it = items.get(id) as Item;
        const ns = [...(leftOf.get(id) ?? []), ...(rightOf.get(id) ?? [])];
        return ns.length > 0 ? ns.reduce((sum, n) => sum + centre(n), 0) / ns.length - it.height / 2 : it.y;
      });
      placeInOrder(
        layer.map((id) => items.get(id) as Item),
        wishes,
        nodeGap,
      );
    }
  }
  let top = Number.POSITIVE_INFINITY;
  for (const it of items.values()) top = Math.min(top, it.y);
  if (Number.isFinite(top) && top !== margin) for (const it of items.values()) it.y -= top - margin;
  let height = 2 * margin;
  for (const it of items.values()) height = Math.max(height, it.y + it.height + margin);

  const placed = new Map<string, PlacedNode>();
  for (const n of nodes) {
    const it = items.get(n.id) as Item;
    placed.set(n.id, { ...n, x: columnX[it.layer] as number, y: it.y, layer: it.layer });
  }
  const routed: RoutedEdge<E>[] = chains.map(({ edge, ids }) => {
    const points: { x: number; y: number }[] = [];
    ids.forEach((id, i) => {
      const it = items.get(id) as Item;
      const left = columnX[it.layer] as number;
      const y = it.y + it.height / 2;
      // Through a crossed column straight along its reserved slot; out of a node's right, into a node's left.
      if (it.dummy) points.push({ x: left, y }, { x: left + (columnWidth[it.layer] as number), y });
      else points.push({ x: i === 0 ? left + it.width : left, y });
    });
    // A reversed (cycle) edge was laid out right-to-left: draw it from its real source.
    return { ...edge, points: ids[0] === edge.from ? points : points.reverse() };
  });
  return { nodes: placed, edges: routed, width, height };
}
