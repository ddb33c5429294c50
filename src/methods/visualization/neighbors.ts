import { BrainError } from "../../errors";

/**
 * Each row's k nearest other rows by Euclidean distance, nearest first (the row itself
 * excluded). Shared input of t-SNE (perplexity calibration) and UMAP (fuzzy graph).
 */
export interface Neighbors {
  n: number;
  k: number;
  /** n × k row indices. */
  indices: Int32Array;
  /** n × k Euclidean distances, ascending per row. */
  distances: Float32Array;
}

/**
 * Exact brute-force k-NN in plain loops: squared distances as ‖x‖² + ‖y‖² − 2x·y over
 * blocks of rows, a bounded insertion list per row. O(n²·d) time, O(n·k) memory.
 */
export function exactNeighbors(vectors: Float32Array, n: number, dim: number, k: number, signal?: AbortSignal): Neighbors {
  if (k >= n) throw new BrainError("INVALID_DATA", `${n} samples are too few for ${k} neighbours each; use fewer neighbours or more samples`);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += vectors[i * dim + c] * vectors[i * dim + c];
    sq[i] = s;
  }
  const indices = new Int32Array(n * k);
  const best = new Float64Array(n * k).fill(Infinity);
  for (let i = 0; i < n; i++) {
    if ((i & 255) === 0) signal?.throwIfAborted();
    const oi = i * dim;
    const row = i * k;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const oj = j * dim;
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += vectors[oi + c] * vectors[oj + c];
      const d = sq[i] + sq[j] - 2 * dot;
      if (d >= best[row + k - 1]) continue;
      let p = k - 1;
      while (p > 0 && best[row + p - 1] > d) {
        best[row + p] = best[row + p - 1];
        indices[row + p] = indices[row + p - 1];
        p--;
      }
      best[row + p] = d;
      indices[row + p] = j;
    }
  }
  const distances = new Float32Array(n * k);
  for (let t = 0; t < n * k; t++) distances[t] = Math.sqrt(Math.max(0, best[t]));
  return { n, k, indices, distances };
}
