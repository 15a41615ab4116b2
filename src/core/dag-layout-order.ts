/**
 * Which layer each node of a layered drawing sits in, and in which order within its layer (steps 1, 2 and 4 of
 * dag-layout.ts). Pure.
 */
import type { LayoutEdge } from "./dag-layout.ts";

const SWEEPS = 8;

/** Longest-path layers, after reversing the back edges of a DFS (so any graph gets layered). */
export function assignLayers(ids: string[], edges: readonly LayoutEdge[]): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const id of ids) out.set(id, []);
  for (const e of edges) out.get(e.from)?.push(e.to);
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const forward: LayoutEdge[] = [];
  for (const root of ids) {
    if (state.has(root)) continue;
    // Iterative DFS: deep pipelines must not overflow the stack.
    const stack: [string, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [string, number];
      const next = (out.get(top[0]) ?? [])[top[1]++];
      if (next === undefined) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const s = state.get(next);
      if (s === 1)
        forward.push({ from: next, to: top[0] }); // back edge: reversed
      else {
        forward.push({ from: top[0], to: next });
        if (s === undefined) {
          state.set(next, 1);
          stack.push([next, 0]);
        }
      }
    }
  }
  // Longest path over the now acyclic graph, in topological order (Kahn).
  const indeg = new Map(ids.map((id) => [id, 0]));
  const succ = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of forward) {
    if (e.from === e.to) continue;
    succ.get(e.from)?.push(e.to);
    indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
  }
  const layer = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    for (const t of succ.get(id) ?? []) {
      layer.set(t, Math.max(layer.get(t) ?? 0, (layer.get(id) ?? 0) + 1));
      const d = (indeg.get(t) ?? 0) - 1;
      indeg.set(t, d);
      if (d === 0) queue.push(t);
    }
  }
  return layer;
}

/** Crossings between two adjacent layers: inversions of the lower ends, counted by merge sort. */
function crossings(pairs: [number, number][]): number {
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const seq = pairs.map((p) => p[1]);
  const count = (xs: number[]): [number[], number] => {
    if (xs.length < 2) return [xs, 0];
    const mid = xs.length >> 1;
    const [l, a] = count(xs.slice(0, mid));
    const [r, b] = count(xs.slice(mid));
    const merged: number[] = [];
    let inv = a + b;
    let i = 0;
    let j = 0;
    while (i < l.length || j < r.length) {
      if (j >= r.length || (i < l.length && (l[i] as number) <= (r[j] as number))) merged.push(l[i++] as number);
      else {
        inv += l.length - i;
        merged.push(r[j++] as number);
      }
    }
    return [merged, inv];
  };
  return count(seq)[1];
}

/**
 * Barycentre ordering: alternating sweeps order each layer by the mean position of its neighbours in the layer
 * before (or after); the order with the fewest crossings is kept.
 */
export function orderLayers(
  layers: readonly string[][],
  leftOf: ReadonlyMap<string, string[]>,
  rightOf: ReadonlyMap<string, string[]>,
): string[][] {
  const position = new Map<string, number>();
  const index = (order: string[][]) => {
    for (const layer of order) for (let i = 0; i < layer.length; i++) position.set(layer[i] as string, i);
  };
  const totalCrossings = (order: string[][]) => {
    index(order);
    let total = 0;
    for (let l = 0; l + 1 < order.length; l++) {
      const pairs: [number, number][] = [];
      for (const id of order[l] as string[]) {
        for (const r of rightOf.get(id) ?? []) pairs.push([position.get(id) as number, position.get(r) as number]);
      }
      total += crossings(pairs);
    }
    return total;
  };
  let order = layers.map((l) => [...l]);
  let best = order.map((l) => [...l]);
  let bestCrossings = totalCrossings(order);
  for (let sweep = 0; sweep < SWEEPS && bestCrossings > 0; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? [...order.keys()].slice(1) : [...order.keys()].reverse().slice(1);
    for (const l of range) {
      const neighbours = down ? leftOf : rightOf;
      const keyed = (order[l] as string[]).map((id, i) => {
        const ns = neighbours.get(id) ?? [];
        const bary = ns.length ? ns.reduce((sum, n) => sum + (position.get(n) as number), 0) / ns.length : i;
        return { id, bary, i };
      });
      keyed.sort((a, b) => a.bary - b.bary || a.i - b.i);
      order[l] = keyed.map((k) => k.id);
      keyed.forEach((k, i) => {
        position.set(k.id, i);
      });
    }
    const c = totalCrossings(order);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = order.map((x) => [...x]);
    }
    order = order.map((x) => [...x]);
  }
  return best;
}
