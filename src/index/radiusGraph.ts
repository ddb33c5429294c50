import { graphFromRows, NeighborGraph } from "../methods/nearDuplicates";
import { Metric, rowDistance } from "../methods/neighborGraph";
import { centeredRows } from "../methods/vectors";
import { knnSelf } from "./exactKnn";

/**
 * The capped radius-neighbour graph of `radiusGraph` (methods/neighborGraph.ts), with the
 * same result, found by the multi-threaded exact k-NN kernel: each row's
 * maxNeighbors + 1 nearest candidates come from the kernel in float32 (on rows centered
 * as the reference does), then their distances are recomputed in float64 exactly as
 * radiusGraph computes them, so thresholds compare the same numbers. A row whose last
 * candidate is still within the radius is saturated: the graph is then complete only
 * below that distance, as radiusGraph reports.
 */
export async function knnRadiusGraph(
  vectors: ArrayLike<number>,
  n: number,
  dim: number,
  metric: Metric,
  radius: number,
  maxNeighbors: number,
  options: { signal?: AbortSignal; progress?: (fraction: number) => void; center?: ArrayLike<number> } = {},
): Promise<NeighborGraph> {
  if (vectors.length !== n * dim) throw new RangeError(`Expected ${n}×${dim} values, got ${vectors.length}`);
  const { rows } = centeredRows(vectors, n, dim, metric === "cosine", options.center);
  if (n < 2) return graphFromRows(Array.from({ length: n }, () => []), radius);
  const k = Math.min(n - 1, maxNeighbors + 1);
  // float32 rounding can move a distance by ~1e-6: take candidates a little beyond the radius.
  const slack = 1e-4 * Math.max(1, radius);
  const rows32 = Float32Array.from(rows);
  const candidates = await knnSelf(rows32, dim, k, metric, {
    radius: radius + slack,
    signal: options.signal,
    progress: options.progress,
  });
  let exactRadius = radius;
  const result: { index: number; dist: number }[][] = [];
  for (let i = 0; i < n; i++) {
    const row: { index: number; dist: number }[] = [];
    for (let c = 0; c < k; c++) {
      const j = candidates.indices[i * k + c];
      if (j < 0) break;
      const d = rowDistance(rows, i, j, dim, metric);
      if (d <= radius) row.push({ index: j, dist: d });
    }
    row.sort((x, y) => x.dist - y.dist || x.index - y.index);
    // More than maxNeighbors within the radius (all k candidates came back): neighbours
    // beyond the k-th may exist, so the graph is complete only below the dropped one.
    if (row.length > maxNeighbors) {
      exactRadius = Math.min(exactRadius, row[maxNeighbors].dist);
      row.length = maxNeighbors;
    }
    result.push(row);
  }
  return graphFromRows(result, exactRadius);
}
