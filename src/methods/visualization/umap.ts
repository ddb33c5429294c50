import { BrainError } from "../../errors";
import { knnSelf, type KnnResult, type SelfKnnOptions } from "../../index/exactKnn";
import { knnSelfHnsw } from "../../index/hnswKnn";
import { fitPca, projectPca } from "./pca";
import { seededRandom } from "./random";
import { Edges, runEpochs } from "./umapEpochs";

/**
 * UMAP over typed arrays, given precomputed neighbours, following umap-learn 0.5: the
 * fuzzy simplicial set (smooth k-NN distances, membership strengths, fuzzy union), edges
 * weaker than max / epochs dropped, then the SGD epochs of `optimize_layout_euclidean`
 * (umapEpochs.ts). Every array is flat and typed: at 70 000 points,
 * umap-js's object-based sparse matrices and `number[][]` layout took ≈ 140 s for the
 * same work.
 *
 * Parameters and defaults are the reference's (`num_neighbors=15`, `min_dist=0.1`).
 * As in umap-learn, each point counts as its own first neighbour at distance 0, so
 * `numNeighbors − 1` other points are used. Epochs: 500 up to 10 000 points, 200 above.
 *
 * Initialisation: the first `numDims` principal components scaled to [−10, 10], a
 * deterministic, structure-preserving start in the role of umap-learn's spectral one.
 * The seed drives negative sampling only, so a seed gives the same points; without one
 * the epochs run on all cores.
 */
export interface UmapOptions {
  numDims: number;
  numNeighbors: number;
  minDist: number;
  seed?: number | null;
  /** Uniform random initialisation in [−10, 10] instead of the PCA one. */
  randomInit?: boolean;
  nEpochs?: number;
  /** Threads for an unseeded run's epochs (default: the number of cores). */
  workers?: number;
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

/** From this many rows UMAP's neighbours come from HNSW (≈ 98% of the exact ones) instead of the exact search. */
export const UMAP_APPROXIMATE_MIN_ROWS = 50_000;

/** The `k` nearest other rows of every row, as UMAP takes them: exact below UMAP_APPROXIMATE_MIN_ROWS rows, else HNSW. */
export function umapNeighbors(
  vectors: Float32Array, dim: number, k: number, metric: "euclidean" | "cosine",
  options: Pick<SelfKnnOptions, "signal" | "progress"> = {},
): Promise<KnnResult> {
  return vectors.length / dim >= UMAP_APPROXIMATE_MIN_ROWS ? knnSelfHnsw(vectors, dim, k, metric, options) : knnSelf(vectors, dim, k, metric, options);
}

export async function umap(vectors: Float32Array, n: number, dim: number, neighbors: KnnResult, options: UmapOptions): Promise<Float32Array> {
  const nd = options.numDims;
  if (nd !== 2 && nd !== 3) throw new BrainError("INVALID_PARAMS", `num_dims must be 2 or 3; got ${nd}`);
  checkUmapInput(n, options.numNeighbors);
  if (!(options.minDist >= 0)) throw new BrainError("INVALID_PARAMS", `min_dist must be ≥ 0; got ${options.minDist}`);
  const k = options.numNeighbors;
  if (neighbors.indices.length !== n * neighbors.k || neighbors.k < k - 1) throw new BrainError("INTERNAL", `UMAP needs ${k - 1} neighbours per point, got ${neighbors.k}`);
  const nEpochs = options.nEpochs ?? (n <= 10_000 ? 500 : 200);
  const graph = fuzzyGraph(neighbors, n, k);
  const edges = sampledEdges(graph, nEpochs);
  let layout: Float64Array;
  if (!options.randomInit && dim >= nd) {
    layout = scaled(await projectPca(await fitPca(vectors, n, dim, nd, options.signal), vectors, n), n, nd);
  } else {
    const random = seededRandom(options.seed);
    layout = new Float64Array(n * nd);
    for (let t = 0; t < layout.length; t++) layout[t] = random() * 20 - 10;
  }
  const { a, b } = curveParams(1, options.minDist);
  await runEpochs(layout, n, nd, edges, { nEpochs, a, b, seed: options.seed, workers: options.workers, signal: options.signal, progress: options.progress });
  const out = Float32Array.from(layout);
  for (let t = 0; t < out.length; t++) {
    if (!Number.isFinite(out[t])) throw new BrainError("INTERNAL", "UMAP produced non-finite coordinates");
  }
  return out;
}

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/** The symmetric fuzzy graph in CSR form: row i's neighbours are cols[rowStart[i]..rowStart[i+1]), ascending. */
export interface FuzzyGraph {
  rowStart: Int32Array;
  cols: Int32Array;
  weights: Float64Array;
}

/**
 * umap-learn's `fuzzy_simplicial_set` with local connectivity 1 and set_op_mix_ratio 1:
 * each point's membership strengths exp(−(d − ρ)/σ) to its neighbours (ρ its nearest
 * non-zero distance, σ by bisection so the strengths sum to log2(k)), then the fuzzy union
 * w + wᵀ − w ∘ wᵀ.
 */
export function fuzzyGraph(neighbors: KnnResult, n: number, k: number): FuzzyGraph {
  const others = k - 1;
  const target = Math.log2(k);
  let meanAll = 0;
  for (let i = 0; i < n; i++) for (let t = 0; t < others; t++) if (neighbors.indices[i * neighbors.k + t] >= 0) meanAll += neighbors.distances[i * neighbors.k + t];
  // umap-learn's distances include the point itself (0) as the first of k.
  meanAll /= n * k;
  const strength = new Float64Array(n * others);
  for (let i = 0; i < n; i++) {
    const base = i * neighbors.k;
    let rho = 0;
    let sum = 0;
    // Missing neighbours (index −1) come last; they are left out of every sum.
    let found = 0;
    while (found < others && neighbors.indices[base + found] >= 0) found++;
    for (let t = 0; t < found; t++) {
      const d = neighbors.distances[base + t];
      sum += d;
      if (rho === 0 && d > 0) rho = d;
    }
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let iter = 0; iter < 64; iter++) {
      let psum = 0;
      for (let t = 0; t < found; t++) {
        const d = neighbors.distances[base + t] - rho;
        psum += d > 0 ? Math.exp(-d / mid) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    const floor = MIN_K_DIST_SCALE * (rho > 0 ? sum / k : meanAll);
    const sigma = Math.max(mid, floor);
    for (let t = 0; t < found; t++) {
      const j = neighbors.indices[base + t];
      const d = neighbors.distances[base + t] - rho;
      strength[i * others + t] = j === i || j < 0 ? 0 : d <= 0 || sigma === 0 ? 1 : Math.exp(-d / sigma);
    }
  }
  // Union of i→j and j→i: each edge's reverse strength (0 if j does not list i), found once;
  // then each row's count of distinct neighbours, and the rows filled and sorted.
  const reverse = new Float64Array(n * others);
  const rowStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < others; t++) {
      if (strength[i * others + t] === 0) continue;
      const j = neighbors.indices[i * neighbors.k + t];
      reverse[i * others + t] = reverseStrength(neighbors, strength, others, j, i);
      rowStart[i + 1]++;
      if (reverse[i * others + t] === 0) rowStart[j + 1]++;
    }
  }
  for (let i = 0; i < n; i++) rowStart[i + 1] += rowStart[i];
  const fill = rowStart.slice(0, n);
  const cols = new Int32Array(rowStart[n]);
  const weights = new Float64Array(rowStart[n]);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < others; t++) {
      const v = strength[i * others + t];
      if (v === 0) continue;
      const j = neighbors.indices[i * neighbors.k + t];
      const w = reverse[i * others + t];
      const union = v + w - v * w;
      cols[fill[i]] = j;
      weights[fill[i]++] = union;
      if (w === 0) {
        cols[fill[j]] = i;
        weights[fill[j]++] = union;
      }
    }
  }
  sortRows(rowStart, cols, weights, n);
  return { rowStart, cols, weights };
}

/** Strength of the edge from → to, 0 when `to` is not among `from`'s neighbours. */
function reverseStrength(neighbors: KnnResult, strength: Float64Array, others: number, from: number, to: number): number {
  for (let t = 0; t < others; t++) if (neighbors.indices[from * neighbors.k + t] === to) return strength[from * others + t];
  return 0;
}

function sortRows(rowStart: Int32Array, cols: Int32Array, weights: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    // Insertion sort: rows hold a few dozen entries.
    for (let p = rowStart[i] + 1; p < rowStart[i + 1]; p++) {
      const c = cols[p];
      const w = weights[p];
      let q = p - 1;
      for (; q >= rowStart[i] && cols[q] > c; q--) {
        cols[q + 1] = cols[q];
        weights[q + 1] = weights[q];
      }
      cols[q + 1] = c;
      weights[q + 1] = w;
    }
  }
}

/** Every stored entry (i, j) of the graph at least max / epochs, sampled every max / w epochs. */
function sampledEdges(graph: FuzzyGraph, nEpochs: number): Edges {
  let max = 0;
  for (const w of graph.weights) max = Math.max(max, w);
  const cutoff = max / nEpochs;
  let count = 0;
  for (const w of graph.weights) if (w >= cutoff) count++;
  const head = new Int32Array(count);
  const tail = new Int32Array(count);
  const epochsPerSample = new Float64Array(count);
  let e = 0;
  for (let i = 0; i + 1 < graph.rowStart.length; i++) {
    for (let p = graph.rowStart[i]; p < graph.rowStart[i + 1]; p++) {
      const w = graph.weights[p];
      if (w < cutoff) continue;
      head[e] = i;
      tail[e] = graph.cols[p];
      epochsPerSample[e++] = max / w;
    }
  }
  return { head, tail, epochsPerSample };
}

/**
 * umap-learn's `find_ab_params`: a and b of 1 / (1 + a·x^(2b)) fitted by least squares
 * (Levenberg–Marquardt) to 1 below min_dist and exp(−(x − min_dist)/spread) above, on 300
 * points of [0, 3·spread].
 */
export function curveParams(spread: number, minDist: number): { a: number; b: number } {
  const xs = Array.from({ length: 300 }, (_, t) => (t * 3 * spread) / 299);
  const ys = xs.map((x) => (x < minDist ? 1 : Math.exp(-(x - minDist) / spread)));
  const residuals = (a: number, b: number) => {
    let s = 0;
    xs.forEach((x, t) => (s += (1 / (1 + a * x ** (2 * b)) - ys[t]) ** 2));
    return s;
  };
  let a = 1;
  let b = 1;
  let lambda = 1e-3;
  let cost = residuals(a, b);
  for (let iter = 0; iter < 500; iter++) {
    // Normal equations JᵀJ δ = −Jᵀr of f(x) = 1 / (1 + a x^(2b)).
    let h11 = 0, h12 = 0, h22 = 0, g1 = 0, g2 = 0;
    xs.forEach((x, t) => {
      if (x === 0) return;
      const p = x ** (2 * b);
      const f = 1 / (1 + a * p);
      const da = -p * f * f;
      const db = -a * p * 2 * Math.log(x) * f * f;
      const r = f - ys[t];
      h11 += da * da;
      h12 += da * db;
      h22 += db * db;
      g1 += da * r;
      g2 += db * r;
    });
    const m11 = h11 * (1 + lambda);
    const m22 = h22 * (1 + lambda);
    const det = m11 * m22 - h12 * h12;
    const stepA = (-g1 * m22 + g2 * h12) / det;
    const stepB = (-g2 * m11 + g1 * h12) / det;
    const next = residuals(a + stepA, b + stepB);
    if (next < cost) {
      const done = cost - next < 1e-15;
      a += stepA;
      b += stepB;
      cost = next;
      lambda /= 10;
      if (done) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  return { a, b };
}

/** Each coordinate of `points` rescaled to [−10, 10]. */
function scaled(points: Float32Array, n: number, nd: number): Float64Array {
  const out = new Float64Array(n * nd);
  for (let c = 0; c < nd; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, points[i * nd + c]);
      hi = Math.max(hi, points[i * nd + c]);
    }
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) out[i * nd + c] = ((points[i * nd + c] - lo) / span) * 20 - 10;
  }
  return out;
}
