import { matmul64 } from "../index/matmul64";
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
 * - each Lloyd step assigns every point to the first nearest center (by ‖c‖² − 2x·c, in
 *   float64), moves centers to their points' mean, relocates empty clusters to the points
 *   farthest from their centers; it stops when labels repeat or the squared center shift
 *   ≤ tol, and, if not on repeated labels, re-assigns once to the final centers.
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

/** The data as scikit-learn clusters it: centered, with squared row norms. */
interface Centered {
  x: Float64Array;
  sq: Float64Array;
  mean: Float64Array;
  n: number;
  dim: number;
  /** Round as float32 arithmetic does. */
  round: (v: number) => number;
  /** Mean of the per-column (population) variances, for the tolerance. */
  meanVariance: number;
}

function center(vectors: ArrayLike<number>, n: number, dim: number, float32: boolean): Centered {
  const round = float32 ? Math.fround : (v: number) => v;
  // numpy's mean over axis 0 adds whole rows in order, in the array's precision (storing into a
  // Float32Array rounds each sum exactly as float32 addition does)
  const sums = float32 ? new Float32Array(dim) : new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) sums[j] += vectors[row + j];
  }
  const mean = new Float64Array(dim);
  for (let j = 0; j < dim; j++) mean[j] = round(sums[j] / n);
  const x = new Float64Array(n * dim);
  const sq = new Float64Array(n);
  const colSum = new Float64Array(dim);
  // One pass: each centered value (rounded to float32 for float32 data), its row's squared
  // norm and the column sums the tolerance needs.
  let sqSum = 0;
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const v = float32 ? Math.fround(vectors[row + j] - mean[j]) : vectors[row + j] - mean[j];
      x[row + j] = v;
      s += v * v;
      colSum[j] += v;
    }
    sq[i] = s;
    sqSum += s;
  }
  // np.mean(np.var(X, axis=0)) = (Σ‖xᵢ‖² / n − Σⱼ mean(x_j)²) / dim, from the same pass (the
  // columns are centered, so E[x²] − E[x]² loses nothing)
  let variance = sqSum / n;
  for (let j = 0; j < dim; j++) variance -= (colSum[j] / n) ** 2;
  return { x, sq, mean, n, dim, round, meanVariance: variance / dim };
}

/** Squared distances (float64, then rounded to the data's precision) from each of `rows` to every row. */
async function distancesFrom(c: Centered, rows: number[]): Promise<Float64Array[]> {
  const { x, sq, n, dim } = c;
  const t = rows.length;
  const bt = new Float64Array(dim * t);
  rows.forEach((r, k) => {
    for (let j = 0; j < dim; j++) bt[j * t + k] = x[r * dim + j];
  });
  const dots = await matmul64(x, n, dim, bt, t);
  return rows.map((r, k) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = c.round(-2 * dots[i * t + k] + sq[r] + sq[i]);
      out[i] = d > 0 ? d : 0;
    }
    return out;
  });
}

function total(c: Centered, v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return c.round(s);
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
async function kmeansPlusPlus(c: Centered, k: number, rng: RandomState): Promise<number[]> {
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
  let [closest] = await distancesFrom(c, [first]);
  let pot = total(c, closest);
  const cum = new Float64Array(n);
  for (let s = 1; s < k; s++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cum[i] = acc = c.round(acc + closest[i]);
    const ids: number[] = [];
    for (let t = 0; t < trials; t++) ids.push(Math.min(searchLeft(cum, rng.randomSample() * pot), n - 1));
    const candidates = await distancesFrom(c, ids);
    let bestPot = Infinity;
    let best = -1;
    candidates.forEach((d, t) => {
      for (let i = 0; i < n; i++) if (closest[i] < d[i]) d[i] = closest[i];
      const candidatePot = total(c, d);
      // np.argmin: the first minimum
      if (candidatePot < bestPot || best < 0) {
        bestPot = candidatePot;
        best = t;
      }
    });
    pot = bestPot;
    closest = candidates[best];
    indices.push(ids[best]);
  }
  return indices;
}

/** One E-step: fills `labels` with every row's first nearest center. */
async function assign(c: Centered, centers: Float64Array, k: number, labels: Int32Array): Promise<void> {
  const { x, n, dim } = c;
  const ct = new Float64Array(dim * k);
  const csq = new Float64Array(k);
  for (let q = 0; q < k; q++) {
    for (let j = 0; j < dim; j++) {
      const v = centers[q * dim + j];
      ct[j * k + q] = v;
      csq[q] += v * v;
    }
  }
  const dots = await matmul64(x, n, dim, ct, k);
  for (let i = 0; i < n; i++) {
    let bestD = Infinity;
    let bestC = 0;
    for (let q = 0; q < k; q++) {
      const d = csq[q] - 2 * dots[i * k + q];
      if (d < bestD) {
        bestD = d;
        bestC = q;
      }
    }
    labels[i] = bestC;
  }
}

/** M-step: new centers as the mean of their points; empty clusters take the farthest points. */
async function update(x: Float64Array, n: number, dim: number, old: Float64Array, k: number, labels: Int32Array, out: Float64Array): Promise<void> {
  // The per-cluster sums as one product, onehot(labels)ᵀ · x: a pass over x on every core
  // instead of one JavaScript loop.
  const onehot = new Float64Array(n * k);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    onehot[i * k + labels[i]] = 1;
    counts[labels[i]]++;
  }
  out.set(await matmul64(onehot, k, n, x, dim, true));
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length) {
    const far = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const d = x[i * dim + j] - old[labels[i] * dim + j];
        s += d * d;
      }
      far[i] = s;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => far[q] - far[p]);
    empty.forEach((c, e) => {
      const i = order[e];
      const from = labels[i];
      for (let j = 0; j < dim; j++) {
        out[from * dim + j] -= x[i * dim + j];
        out[c * dim + j] = x[i * dim + j];
      }
      counts[c] = 1;
      counts[from] -= 1;
    });
  }
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) for (let j = 0; j < dim; j++) out[c * dim + j] /= counts[c];
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
  const data = center(vectors, n, dim, vectors instanceof Float32Array);
  const { x, mean } = data;
  const tol = data.meanVariance * (options.tol ?? 1e-4);
  const labels = new Int32Array(n);
  const rng = new RandomState(options.seed ?? 0);
  const seeds = await kmeansPlusPlus(data, k, rng);
  let centers = new Float64Array(k * dim);
  seeds.forEach((s, c) => centers.set(x.subarray(s * dim, (s + 1) * dim), c * dim));
  let next = new Float64Array(k * dim);
  const previous = new Int32Array(n).fill(-1);
  let strict = false;
  let it = 0;
  for (; it < maxIter; it++) {
    options.signal?.throwIfAborted();
    options.progress?.(it / maxIter);
    await assign(data, centers, k, labels);
    await update(x, n, dim, centers, k, labels, next);
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
  if (!strict) await assign(data, centers, k, labels);
  for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) centers[c * dim + j] += mean[j];
  options.progress?.(1);
  return { centers, labels, iterations: Math.min(it + 1, maxIter) };
}
