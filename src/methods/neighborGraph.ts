import { graphFromRows, NeighborGraph } from "./nearDuplicates";
import { centeredRows } from "./vectors";

export type Metric = "cosine" | "euclidean";

/**
 * Exact radius-neighbour graph of row vectors, with the reference's distance
 * conventions (spec §8.3): rows are centered by their mean; cosine distance is
 * clip(1 − x̂·ŷ, 0, 2) with zero rows left unnormalised (distance 1 to everything);
 * Euclidean is between centered rows. Computed in float64, one row at a time, keeping
 * only neighbours within `radius` (at most `maxNeighbors` per row), so memory is the
 * graph, not an n×n matrix. The graph's `radius` says up to which distance it is complete.
 */
export function radiusGraph(
  vectors: ArrayLike<number>,
  n: number,
  dim: number,
  metric: Metric,
  radius: number,
  maxNeighbors = Infinity,
  /** Centre rows by this mean instead of their own (rows that are a view of an index). */
  center?: ArrayLike<number>,
): NeighborGraph {
  if (vectors.length !== n * dim) throw new RangeError(`Expected ${n}×${dim} values, got ${vectors.length}`);
  // Cosine rows are normalised (zero rows stay zero: distance 1 to everything).
  const { rows } = centeredRows(vectors, n, dim, metric === "cosine", center);
  const result: { index: number; dist: number }[][] = [];
  let exactRadius = radius;
  for (let i = 0; i < n; i++) {
    const row: { index: number; dist: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = rowDistance(rows, i, j, dim, metric);
      if (d <= radius) row.push({ index: j, dist: d });
    }
    row.sort((x, y) => x.dist - y.dist || x.index - y.index);
    if (row.length > maxNeighbors) {
      // Beyond the cap the graph is only complete up to the first dropped distance.
      exactRadius = Math.min(exactRadius, row[maxNeighbors].dist);
      row.length = maxNeighbors;
    }
    result.push(row);
  }
  return graphFromRows(result, exactRadius);
}

/**
 * The greedy scan of near duplicates computed straight from the vectors, for the
 * threshold search of find_unique, whose thresholds can reach any distance: only the
 * rows of kept items are computed (each against the later items), so a scan costs
 * kept × n distances and memory is the centered copy of the vectors.
 */
export function vectorScan(vectors: ArrayLike<number>, n: number, dim: number, metric: Metric): (thresh: number) => Uint8Array {
  if (vectors.length !== n * dim) throw new RangeError(`Expected ${n}×${dim} values, got ${vectors.length}`);
  const { rows } = centeredRows(vectors, n, dim, metric === "cosine");
  return (thresh) => {
    const kept = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      if (!kept[i]) continue;
      const a = i * dim;
      for (let j = i + 1; j < n; j++) {
        if (!kept[j]) continue; // already dropped: no need to compare
        const b = j * dim;
        if (metric === "cosine") {
          let dot = 0;
          for (let k = 0; k < dim; k++) dot += rows[a + k] * rows[b + k];
          if (Math.min(2, Math.max(0, 1 - dot)) <= thresh) kept[j] = 0;
        } else {
          let s = 0;
          for (let k = 0; k < dim; k++) {
            const t = rows[a + k] - rows[b + k];
            s += t * t;
          }
          if (Math.sqrt(s) <= thresh) kept[j] = 0;
        }
      }
    }
    return kept;
  };
}

/**
 * The reference's distance between rows i and j of centered (and, for cosine, normalised)
 * rows, in float64: clip(1 − x̂·ŷ, 0, 2) or ‖x − y‖.
 */
export function rowDistance(rows: Float64Array, i: number, j: number, dim: number, metric: Metric): number {
  const a = i * dim;
  const b = j * dim;
  if (metric === "cosine") {
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += rows[a + k] * rows[b + k];
    return Math.min(2, Math.max(0, 1 - dot));
  }
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const t = rows[a + k] - rows[b + k];
    s += t * t;
  }
  return Math.sqrt(s);
}
