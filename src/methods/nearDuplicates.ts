/**
 * Near duplicates over a neighbour graph, with fiftyone-brain's semantics (spec §6):
 * a threshold is a distance and `≤` means duplicate; the unique set comes from a greedy
 * scan in index order (an item is dropped by any earlier kept item within the
 * threshold, so A~B, B~C, A≁C keeps A and C); each duplicate maps to its nearest kept
 * item. The graph holds each item's neighbours within some radius, sorted by distance:
 * results are exact for every threshold up to that radius, which is what lets a panel
 * regroup live from stored distances without recomputing anything.
 *
 * Decision (spec §6.3 quirk): neighbors_map distances are the metric distances, i.e.
 * what the reference intends; its reported numbers come from re-centered, partly
 * normalised vectors and are not reproduced.
 */
export interface NeighborGraph {
  /** Number of items. */
  n: number;
  /** Row i's neighbours are indices[offsets[i]..offsets[i+1]), sorted by ascending distance; no self. */
  offsets: Int32Array;
  indices: Int32Array;
  distances: Float64Array;
  /** Every neighbour within this distance is present. */
  radius: number;
}

/** A neighbour graph in plain arrays, as a run stores it (row i is ids[i]). */
export interface PlainNeighborGraph {
  ids: readonly string[];
  offsets: readonly number[];
  indices: readonly number[];
  distances: readonly number[];
  radius: number;
}

export function neighborGraphOf(graph: PlainNeighborGraph): NeighborGraph {
  return {
    n: graph.ids.length,
    offsets: Int32Array.from(graph.offsets),
    indices: Int32Array.from(graph.indices),
    distances: Float64Array.from(graph.distances),
    radius: graph.radius,
  };
}

export interface NearDuplicates {
  thresh: number;
  /** Kept items, ascending index order. */
  unique: number[];
  /** Dropped items, ascending index order. */
  duplicates: number[];
  /** Kept item → its duplicates with distances, ascending distance (stable); keys in first-seen order. */
  neighborsMap: Map<number, { index: number; dist: number }[]>;
}

/** Builds a graph from a dense distance matrix (row-major n×n; the diagonal is ignored). */
export function graphFromMatrix(dist: ArrayLike<number>, n: number, radius = Infinity): NeighborGraph {
  const rows: { index: number; dist: number }[][] = [];
  for (let i = 0; i < n; i++) {
    const row: { index: number; dist: number }[] = [];
    for (let j = 0; j < n; j++) {
      const d = dist[i * n + j];
      if (j !== i && d <= radius) row.push({ index: j, dist: d });
    }
    row.sort((a, b) => a.dist - b.dist || a.index - b.index);
    rows.push(row);
  }
  return graphFromRows(rows, radius);
}

export function graphFromRows(rows: { index: number; dist: number }[][], radius: number): NeighborGraph {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i] + r.length));
  const indices = new Int32Array(offsets[rows.length]);
  const distances = new Float64Array(offsets[rows.length]);
  rows.forEach((r, i) => r.forEach((e, k) => {
    indices[offsets[i] + k] = e.index;
    distances[offsets[i] + k] = e.dist;
  }));
  return { n: rows.length, offsets, indices, distances, radius };
}

function checkThreshold(graph: NeighborGraph, thresh: number): void {
  if (!(thresh > 0) || !Number.isFinite(thresh)) throw new RangeError(`The threshold must be a positive distance, got ${thresh}`);
  if (thresh > graph.radius) {
    throw new RangeError(`The threshold ${thresh} exceeds the radius ${graph.radius} the neighbours were computed for`);
  }
}

/** The greedy scan: which items are kept at this threshold. */
export function keptAt(graph: NeighborGraph, thresh: number): Uint8Array {
  const kept = new Uint8Array(graph.n).fill(1);
  for (let i = 0; i < graph.n; i++) {
    if (!kept[i]) continue;
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
      if (graph.distances[k] > thresh) break; // sorted: nothing closer follows
      const j = graph.indices[k];
      if (j > i) kept[j] = 0;
    }
  }
  return kept;
}

export function findDuplicates(graph: NeighborGraph, thresh: number): NearDuplicates {
  checkThreshold(graph, thresh);
  const kept = keptAt(graph, thresh);
  const unique: number[] = [];
  const duplicates: number[] = [];
  for (let i = 0; i < graph.n; i++) (kept[i] ? unique : duplicates).push(i);
  const neighborsMap = new Map<number, { index: number; dist: number }[]>();
  for (const d of duplicates) {
    // A duplicate was dropped by a kept item within `thresh`, so its nearest kept item is
    // among its stored neighbours (sorted: the first kept one is the nearest).
    for (let k = graph.offsets[d]; k < graph.offsets[d + 1]; k++) {
      const j = graph.indices[k];
      if (!kept[j]) continue;
      const group = neighborsMap.get(j) ?? [];
      group.push({ index: d, dist: graph.distances[k] });
      neighborsMap.set(j, group);
      break;
    }
  }
  for (const group of neighborsMap.values()) group.sort((a, b) => a.dist - b.dist); // stable
  return { thresh, unique, duplicates, neighborsMap };
}

/** Kept items (1) of the greedy scan at a threshold. */
export type GreedyScan = (thresh: number) => Uint8Array;

/**
 * The reference's threshold search for `count` kept items (find_unique / fraction mode):
 * bisection from `initThresh`, stopping at the exact count or when the bracket is below
 * 1e-6 without change. Returns the last kept set and threshold tried. Works on a graph
 * (complete up to its radius) or on any greedy scan, e.g. one over the vectors.
 */
export function findUnique(
  source: NeighborGraph | { n: number; scan: GreedyScan },
  count: number,
  initThresh = 1,
): { thresh: number | null; unique: number[]; duplicates: number[] } {
  const n = source.n;
  const scan: GreedyScan =
    "scan" in source
      ? source.scan
      : (t) => {
          if (t > source.radius) throw new RangeError(`Finding ${count} unique items needs neighbours beyond the radius ${source.radius}`);
          return keptAt(source, t);
        };
  const all = Array.from({ length: n }, (_, i) => i);
  if (count <= 0) return { thresh: null, unique: [], duplicates: all };
  if (count >= n) return { thresh: null, unique: all, duplicates: [] };
  let thresh = initThresh;
  let lo = 0;
  let hi: number | null = null;
  let previous = -1;
  for (;;) {
    const kept = scan(thresh);
    const k = kept.reduce((s, v) => s + v, 0);
    if (k === count || (k === previous && hi !== null && hi - lo < 1e-6)) {
      return { thresh, unique: all.filter((i) => kept[i]), duplicates: all.filter((i) => !kept[i]) };
    }
    previous = k;
    if (k < count) {
      hi = thresh;
      thresh = (lo + thresh) / 2;
    } else {
      lo = thresh;
      thresh = hi !== null ? (thresh + hi) / 2 : thresh * 2;
    }
  }
}

/** Fraction mode: keep round-half-even((1 − fraction)·n) items. */
export function countForFraction(n: number, fraction: number): number {
  const x = Math.min(1, Math.max(0, 1 - fraction)) * n;
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
