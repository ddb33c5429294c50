import { UMAP } from "umap-js";
import { BrainError } from "../../errors";
import type { KnnResult } from "../../index/exactKnn";
import { fitPca, projectPca } from "./pca";
import { seededRandom } from "./random";

/**
 * UMAP by umap-js 1.4.0, given precomputed neighbours (umap-js's own approximate search
 * is skipped) and a seeded generator for its sampling, so a seed gives the same points.
 *
 * Parameters and defaults are the reference's (`num_neighbors=15`, `min_dist=0.1`,
 * euclidean). As in umap-learn, each point counts as its own first neighbour at
 * distance 0, so `numNeighbors − 1` other points are used.
 *
 * Initialisation: umap-js starts from uniform random positions; here its initial
 * layout is replaced (in place, before the epochs run) by the first `numDims` principal
 * components scaled to [−10, 10], a deterministic, structure-preserving start in the
 * role of umap-learn's spectral initialisation. Epochs: 500 up to 10 000 points, 200
 * above, as both libraries choose.
 */
export interface UmapOptions {
  numDims: number;
  numNeighbors: number;
  minDist: number;
  seed?: number | null;
  /** umap-js's random uniform initialisation instead of the PCA one. */
  randomInit?: boolean;
  nEpochs?: number;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

export const UMAP_DEFAULTS = { numNeighbors: 15, minDist: 0.1 };

export function checkUmapInput(n: number, numNeighbors: number): void {
  if (!Number.isInteger(numNeighbors) || numNeighbors < 2) {
    throw new BrainError("INVALID_PARAMS", `num_neighbors must be an integer ≥ 2; got ${numNeighbors}`);
  }
  if (n <= numNeighbors) {
    throw new BrainError(
      "INVALID_DATA",
      `UMAP with ${numNeighbors} neighbours needs more than ${numNeighbors} samples with embeddings; there are ${n}. Lower num_neighbors or add samples`,
    );
  }
}

export async function umap(vectors: Float32Array, n: number, dim: number, neighbors: KnnResult, options: UmapOptions): Promise<Float32Array> {
  const nd = options.numDims;
  if (nd !== 2 && nd !== 3) throw new BrainError("INVALID_PARAMS", `num_dims must be 2 or 3; got ${nd}`);
  checkUmapInput(n, options.numNeighbors);
  if (!(options.minDist >= 0)) throw new BrainError("INVALID_PARAMS", `min_dist must be ≥ 0; got ${options.minDist}`);
  const k = options.numNeighbors;
  if (neighbors.indices.length !== n * neighbors.k || neighbors.k < k - 1) throw new BrainError("INTERNAL", `UMAP needs ${k - 1} neighbours per point, got ${neighbors.k}`);
  const knnIndices: number[][] = new Array(n);
  const knnDistances: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dist = [0];
    for (let t = 0; t < k - 1; t++) {
      idx.push(neighbors.indices[i * neighbors.k + t]);
      dist.push(neighbors.distances[i * neighbors.k + t]);
    }
    knnIndices[i] = idx;
    knnDistances[i] = dist;
  }
  const model = new UMAP({
    nComponents: nd,
    nNeighbors: k,
    minDist: options.minDist,
    random: seededRandom(options.seed),
    ...(options.nEpochs ? { nEpochs: options.nEpochs } : {}),
  });
  model.setPrecomputedKNN(knnIndices, knnDistances);
  // umap-js reads only the number of rows once neighbours are given.
  const rows: number[][] = Array.from({ length: n }, () => []);
  const epochs = model.initializeFit(rows);
  if (!options.randomInit && dim >= nd) {
    const init = await projectPca(await fitPca(vectors, n, dim, nd, options.signal), vectors, n);
    scaleInto(init, n, nd, model.getEmbedding());
  }
  for (let e = 0; e < epochs; e++) {
    if ((e & 7) === 0) {
      options.signal?.throwIfAborted();
      options.progress?.(e / epochs);
    }
    model.step();
  }
  options.progress?.(1);
  const embedding = model.getEmbedding();
  const out = new Float32Array(n * nd);
  for (let i = 0; i < n; i++) for (let c = 0; c < nd; c++) out[i * nd + c] = embedding[i][c];
  for (let t = 0; t < out.length; t++) {
    if (!Number.isFinite(out[t])) throw new BrainError("INTERNAL", "UMAP produced non-finite coordinates");
  }
  return out;
}

/** Writes each coordinate of `points` rescaled to [−10, 10] (umap-js's initial range) into `target`. */
function scaleInto(points: Float32Array, n: number, nd: number, target: number[][]): void {
  for (let c = 0; c < nd; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, points[i * nd + c]);
      hi = Math.max(hi, points[i * nd + c]);
    }
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) target[i][c] = ((points[i * nd + c] - lo) / span) * 20 - 10;
  }
}
