import { kmeans, KMeansResult } from "./kmeans";
import { asRows, kmeansKernels } from "./kmeansKernels";

/**
 * Representativeness (spec §2), reproducing fiftyone-brain's `_cluster_ranker`:
 * k-means with 20 clusters and seed 1234 (see kmeans.ts: the same seeding and Lloyd
 * steps as scikit-learn), then each point's Euclidean distance to its cluster's center
 * in the raw embedding space, divided by the largest such distance in its cluster.
 *
 * Decision on the reference's quirk (spec §14.5): that score is 0 for a point on its
 * center and 1 for its cluster's farthest point — the opposite of what the reference's
 * documentation promises ("high = representative"). Reproduced by default
 * (`orientation: "reference"`), because users compare numbers with fiftyone-brain and
 * runs made by either side must mean the same; `orientation: "centrality"` returns
 * 1 − score, what the documentation describes (1 on the center). NaN for a cluster whose
 * farthest distance is 0 (a singleton or identical points), as the reference.
 *
 * "cluster-center-downweight": points visited from highest to lowest initial score
 * (ties: the later index first, as reversing a stable ascending sort); each visit marks
 * the not-yet-visited points within Euclidean distance 0.5 (inclusive) as visited and
 * multiplies their score by 0.7; finally every score is divided by the maximum.
 */

export const REPRESENTATIVENESS_CLUSTERS = 20;
export const REPRESENTATIVENESS_SEED = 1234;
export const DOWNWEIGHT_RADIUS = 0.5;
export const DOWNWEIGHT_FACTOR = 0.7;
export const REPRESENTATIVENESS_METHODS = ["cluster-center", "cluster-center-downweight"] as const;
export type RepresentativenessMethod = (typeof REPRESENTATIVENESS_METHODS)[number];

export interface RepresentativenessOptions {
  method?: RepresentativenessMethod;
  orientation?: "reference" | "centrality";
  clusters?: number;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

/** Distance of every point to its cluster's center, divided by the cluster's largest. */
export function clusterCenterScores(vectors: ArrayLike<number>, n: number, dim: number, km: KMeansResult, k: number): Float64Array {
  const dist = new Float64Array(n);
  kmeansKernels().centerDistances(asRows(vectors), n, dim, km.centers, km.labels, dist);
  const max = new Float64Array(k);
  for (let i = 0; i < n; i++) if (dist[i] > max[km.labels[i]]) max[km.labels[i]] = dist[i];
  for (let i = 0; i < n; i++) dist[i] /= max[km.labels[i]]; // 0/0 = NaN for a degenerate cluster, as numpy
  return dist;
}

/** The reference's iterative down-weighting of near neighbours of higher-ranked points. */
export function downweight(vectors: ArrayLike<number>, n: number, dim: number, scores: Float64Array, signal?: AbortSignal): Float64Array {
  const out = Float64Array.from(scores);
  // np.argsort(scores)[::-1]: NaN sorts last ascending, so first here; ties: later index first
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const x = scores[a];
    const y = scores[b];
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) === Number.isNaN(y) ? b - a : Number.isNaN(x) ? -1 : 1;
    return y - x || b - a;
  });
  const visited = new Uint8Array(n);
  const r2 = DOWNWEIGHT_RADIUS * DOWNWEIGHT_RADIUS;
  for (const p of order) {
    signal?.throwIfAborted();
    visited[p] = 1;
    const a = p * dim;
    for (let q = 0; q < n; q++) {
      if (visited[q]) continue;
      const b = q * dim;
      let s = 0;
      for (let j = 0; j < dim && s <= r2; j++) {
        const d = vectors[a + j] - vectors[b + j];
        s += d * d;
      }
      if (s <= r2) {
        visited[q] = 1;
        out[q] *= DOWNWEIGHT_FACTOR;
      }
    }
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(out[i])) max = NaN;
    else if (out[i] > max) max = out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= max;
  return out;
}

export async function computeRepresentativeness(
  vectors: ArrayLike<number>,
  n: number,
  dim: number,
  options: RepresentativenessOptions = {},
): Promise<Float64Array> {
  const method = options.method ?? "cluster-center";
  const k = options.clusters ?? REPRESENTATIVENESS_CLUSTERS;
  const km = await kmeans(vectors, n, dim, k, {
    seed: REPRESENTATIVENESS_SEED,
    signal: options.signal,
    progress: (f) => options.progress?.(0.9 * f),
  });
  let scores = clusterCenterScores(vectors, n, dim, km, k);
  if (method === "cluster-center-downweight") scores = downweight(vectors, n, dim, scores, options.signal);
  if (options.orientation === "centrality") for (let i = 0; i < n; i++) scores[i] = 1 - scores[i];
  options.progress?.(1);
  return scores;
}
