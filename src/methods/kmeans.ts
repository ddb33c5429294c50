import { yieldToEventLoop } from "./eventLoop";
import { asRows, kmeansKernels, paddedColumns, Rows } from "./kmeansKernels";
import { RandomState } from "./mt19937";

/**
 * K-means as scikit-learn's `KMeans(n_clusters, random_state=seed)` computes it with its
 * defaults (k-means++ seeding with 2 + ⌊ln k⌋ local trials, one initialisation, Lloyd
 * iterations, max_iter 300, tol 1e-4 scaled by the mean per-feature variance), so that
 * seeded runs give the same clusters:
 * - data centered by its column mean first (centers are shifted back at the end);
 * - the seeding draws from numpy's legacy MT19937 in the same order (first center by
 *   `choice(n, p=w/Σw)`, then `uniform(size=trials) · potential` searched in the running
 *   sum of squared distances), squared distances by the same ‖c‖² − 2c·x + ‖x‖² expansion
 *   in float64;
 * - float32 input is clustered as scikit-learn clusters it, in float32: the column mean
 *   accumulated row by row in float32 (numpy's order), centered values, squared distances,
 *   their running sum and the potentials rounded to float32. A random draw near a step of
 *   that running sum picks another seed, so float64 arithmetic on float32 data would pick
 *   other seeds at scale (measured: the 11th of 20 at 50 000 × 512);
 * - each Lloyd step (one pass of the native kernels, kmeansKernels.ts) assigns every point
 *   to the first nearest center (by ‖c‖² − 2x·c, in float64), moves centers to their
 *   points' mean, relocates empty clusters to the points farthest from their centers; it
 *   stops when labels repeat or the squared center shift ≤ tol, and, if not on repeated
 *   labels, re-assigns once to the final centers.
 * Seeds agree with scikit-learn's unless a draw falls within rounding of a step (the
 * potentials are BLAS sums whose order cannot be reproduced); labels agree wherever no
 * point is equidistant from two centers within rounding.
 */

export interface KMeansOptions {
  seed?: number;
  maxIter?: number;
  tol?: number;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

export interface KMeansResult {
  /** Row-major k × dim centers in the input's space. */
  centers: Float64Array;
  labels: Int32Array;
  iterations: number;
}

/**
 * The data as scikit-learn clusters it: centered, with squared row norms. Centered float32
 * values are rounded to float32, so they are kept in a Float32Array without loss.
 */
interface Centered {
  x: Rows;
  sq: Float64Array;
  mean: Float64Array;
  n: number;
  dim: number;
  /** float32 data, clustered in float32 arithmetic */
  float32: boolean;
  /** Round as the data's arithmetic does. */
  round: (v: number) => number;
  /** Mean of the per-column (population) variances, for the tolerance. */
  meanVariance: number;
}

function center(vectors: ArrayLike<number>, n: number, dim: number): Centered {
  const v = asRows(vectors);
  const float32 = v instanceof Float32Array;
  const x = float32 ? new Float32Array(n * dim) : new Float64Array(n * dim);
  const sq = new Float64Array(n);
  const mean = new Float64Array(dim);
  const meanVariance = kmeansKernels().center(v, n, dim, x, sq, mean);
  return { x, sq, mean, n, dim, float32, round: float32 ? Math.fround : (d: number) => d, meanVariance };
}

/** Centers (rows of `rows` at `offsets`), transposed and zero-padded as the kernels take them. */
function transposed(rows: ArrayLike<number>, offsets: number[], dim: number): { ct: Float64Array; kp: number } {
  const kp = paddedColumns(offsets.length);
  const ct = new Float64Array(dim * kp);
  offsets.forEach((o, q) => {
    for (let j = 0; j < dim; j++) ct[j * kp + q] = rows[o + j];
  });
  return { ct, kp };
}

/** numpy's `searchsorted(cdf, v)` (side "left"): the first index with cdf[i] ≥ v. */
function searchLeft(cdf: Float64Array, v: number): number {
  let lo = 0;
  let hi = cdf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** scikit-learn's `_kmeans_plusplus` with unit sample weights; returns the indices of the chosen rows. */
async function kmeansPlusPlus(c: Centered, k: number, rng: RandomState, signal?: AbortSignal): Promise<number[]> {
  const n = c.n;
  const trials = 2 + Math.floor(Math.log(k));
  // choice(n, p=w/Σw): p in the data's precision, cdf = cumsum(p) / cdf[-1] in float64, side "right"
  const p = c.round(1 / n);
  const cdf = new Float64Array(n);
  let run = 0;
  for (let i = 0; i < n; i++) cdf[i] = run += p;
  const last = cdf[n - 1];
  for (let i = 0; i < n; i++) cdf[i] /= last;
  const u = rng.randomSample();
  let first = 0;
  while (first < n && cdf[first] <= u) first++;
  const indices = [first];
  const closest = new Float64Array(n).fill(Infinity);
  const cum = new Float64Array(n);
  const result = new Float64Array(2);
  const step = (ids: Int32Array) => kmeansKernels().seedStep(c.x, n, c.dim, c.sq, c.float32, ids, closest, cum, result);
  step(Int32Array.of(first));
  const ids = new Int32Array(trials);
  for (let s = 1; s < k; s++) {
    await yieldToEventLoop();
    signal?.throwIfAborted();
    const pot = result[1];
    for (let t = 0; t < trials; t++) ids[t] = Math.min(searchLeft(cum, rng.randomSample() * pot), n - 1);
    step(ids);
    indices.push(ids[result[0]]);
  }
  return indices;
}

/**
 * One Lloyd step: every row's first nearest center into `labels`, and into `out` the new
 * centers, each its points' mean; empty clusters take the points farthest from their centers.
 */
function lloydStep(c: Centered, centers: Float64Array, k: number, labels: Int32Array, out: Float64Array): void {
  const { x, n, dim } = c;
  const { ct, kp } = transposed(centers, Array.from({ length: k }, (_, q) => q * dim), dim);
  const csq = new Float64Array(k);
  for (let q = 0; q < k; q++) for (let j = 0; j < dim; j++) csq[q] += centers[q * dim + j] ** 2;
  const counts = new Float64Array(k);
  kmeansKernels().lloyd(x, n, dim, ct, kp, k, csq, labels, out, counts);
  const empty: number[] = [];
  for (let q = 0; q < k; q++) if (counts[q] === 0) empty.push(q);
  if (empty.length) {
    const far = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const d = x[i * dim + j] - centers[labels[i] * dim + j];
        s += d * d;
      }
      far[i] = s;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => far[q] - far[p]);
    empty.forEach((q, e) => {
      const i = order[e];
      const from = labels[i];
      for (let j = 0; j < dim; j++) {
        out[from * dim + j] -= x[i * dim + j];
        out[q * dim + j] = x[i * dim + j];
      }
      counts[q] = 1;
      counts[from] -= 1;
    });
  }
  for (let q = 0; q < k; q++) {
    if (counts[q] > 0) for (let j = 0; j < dim; j++) out[q * dim + j] /= counts[q];
  }
}

export async function kmeans(
  vectors: ArrayLike<number>,
  n: number,
  dim: number,
  k: number,
  options: KMeansOptions = {},
): Promise<KMeansResult> {
  if (n < k) throw new Error(`n_samples=${n} should be >= n_clusters=${k}.`);
  const maxIter = options.maxIter ?? 300;
  const data = center(vectors, n, dim);
  const { x, mean } = data;
  const tol = data.meanVariance * (options.tol ?? 1e-4);
  const labels = new Int32Array(n);
  const rng = new RandomState(options.seed ?? 0);
  const seeds = await kmeansPlusPlus(data, k, rng, options.signal);
  let centers = new Float64Array(k * dim);
  seeds.forEach((s, c) => centers.set(x.subarray(s * dim, (s + 1) * dim), c * dim));
  let next = new Float64Array(k * dim);
  const previous = new Int32Array(n).fill(-1);
  let strict = false;
  let it = 0;
  for (; it < maxIter; it++) {
    await yieldToEventLoop();
    options.signal?.throwIfAborted();
    options.progress?.(it / maxIter);
    lloydStep(data, centers, k, labels, next);
    let shift = 0;
    for (let j = 0; j < k * dim; j++) {
      const d = next[j] - centers[j];
      shift += d * d;
    }
    [centers, next] = [next, centers];
    let same = true;
    for (let i = 0; i < n && same; i++) if (labels[i] !== previous[i]) same = false;
    if (same) {
      strict = true;
      break;
    }
    if (shift <= tol) break;
    previous.set(labels);
  }
  // the labels of the final centers (the step's new centers are not needed)
  if (!strict) lloydStep(data, centers, k, labels, next);
  for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) centers[c * dim + j] += mean[j];
  options.progress?.(1);
  return { centers, labels, iterations: Math.min(it + 1, maxIter) };
}
