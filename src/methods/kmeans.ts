import { knnSearch } from "../index/exactKnn";
import { RandomState } from "./mt19937";

/**
 * K-means as scikit-learn's `KMeans(n_clusters, random_state=seed)` computes it with its
 * defaults (k-means++ seeding with 2 + ⌊ln k⌋ local trials, one initialisation, Lloyd
 * iterations, max_iter 300, tol 1e-4 scaled by the mean per-feature variance), so that
 * seeded runs give the same clusters:
 * - data centered by its column mean first (centers are shifted back at the end);
 * - the seeding draws from numpy's legacy MT19937 in the same order (first center by
 *   `choice(n, p=1/n)`, then `uniform(size=trials) · potential` searched in the running
 *   sum of squared distances), squared distances by the same ‖x‖² − 2x·c + ‖c‖² expansion;
 * - each Lloyd step assigns every point to the first nearest center (by ‖c‖² − 2x·c),
 *   moves centers to their points' mean, relocates empty clusters to the points farthest
 *   from their centers; it stops when labels repeat or the squared center shift ≤ tol,
 *   and, if not on repeated labels, re-assigns once to the final centers.
 * Results agree with scikit-learn's to rounding wherever no distance ties within
 * rounding (then a label could differ, as between two BLAS builds).
 */

/** n·k·dim above which the E-step runs on the k-NN kernel. */
const KERNEL_MIN_WORK = 1 << 22;

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

/** Squared distances ‖x_i‖² − 2 x_i·c + ‖c‖² from one row `c` of `x` to every row, clipped at 0. */
function squaredDistancesTo(x: Float64Array, sq: Float64Array, n: number, dim: number, c: number, out: Float64Array): void {
  const base = c * dim;
  const cc = sq[c];
  for (let i = 0; i < n; i++) {
    const a = i * dim;
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += x[a + k] * x[base + k];
    const d = -2 * dot + cc + sq[i];
    out[i] = d > 0 ? d : 0;
  }
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
export function kmeansPlusPlus(x: Float64Array, sq: Float64Array, n: number, dim: number, k: number, rng: RandomState): number[] {
  const trials = 2 + Math.floor(Math.log(k));
  // choice(n, p=ones/n): cdf = cumsum(p) / cdf[-1], searchsorted(side="right")
  const cdf = new Float64Array(n);
  let run = 0;
  for (let i = 0; i < n; i++) cdf[i] = run += 1 / n;
  const last = cdf[n - 1];
  for (let i = 0; i < n; i++) cdf[i] /= last;
  const u = rng.randomSample();
  let first = 0;
  while (first < n && cdf[first] <= u) first++;
  const indices = [first];
  let closest = new Float64Array(n);
  squaredDistancesTo(x, sq, n, dim, first, closest);
  let pot = 0;
  for (let i = 0; i < n; i++) pot += closest[i];
  let candidate = new Float64Array(n);
  let best = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    const cum = new Float64Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) cum[i] = s += closest[i];
    const ids: number[] = [];
    for (let t = 0; t < trials; t++) ids.push(Math.min(searchLeft(cum, rng.randomSample() * pot), n - 1));
    let bestPot = Infinity;
    let bestId = -1;
    for (const id of ids) {
      squaredDistancesTo(x, sq, n, dim, id, candidate);
      let p = 0;
      for (let i = 0; i < n; i++) {
        const v = closest[i] < candidate[i] ? closest[i] : candidate[i];
        candidate[i] = v;
        p += v;
      }
      // np.argmin: the first minimum
      if (p < bestPot || bestId < 0) {
        bestPot = p;
        bestId = id;
        [best, candidate] = [candidate, best];
      }
    }
    pot = bestPot;
    [closest, best] = [best, closest];
    indices.push(bestId);
  }
  return indices;
}

/** Mean of the per-column (population) variances, as np.mean(np.var(X, axis=0)). */
function meanVariance(x: Float64Array, n: number, dim: number): number {
  let total = 0;
  for (let k = 0; k < dim; k++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += x[i * dim + k];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = x[i * dim + k] - m;
      v += d * d;
    }
    total += v / n;
  }
  return total / dim;
}

/** One E-step: labels of every row for the given centers; returns nothing, fills `labels`. */
function assign(x: Float64Array, n: number, dim: number, centers: Float64Array, k: number, labels: Int32Array): void {
  const csq = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centers[c * dim + j] * centers[c * dim + j];
    csq[c] = s;
  }
  for (let i = 0; i < n; i++) {
    const a = i * dim;
    let bestD = Infinity;
    let bestC = 0;
    for (let c = 0; c < k; c++) {
      const b = c * dim;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[a + j] * centers[b + j];
      const d = csq[c] - 2 * dot;
      if (d < bestD) {
        bestD = d;
        bestC = c;
      }
    }
    labels[i] = bestC;
  }
}

/** Relative gap between the two nearest centers below which float32 is not trusted. */
const RECHECK_GAP = 1e-3;

/**
 * E-step with the shared k-NN kernel (float32 GEMM) finding each row's two nearest
 * centers; rows whose two candidates are within float32 rounding of each other are
 * assigned again in float64 over all centers, so labels are those of the float64 rule.
 */
async function assignKnn(
  x: Float64Array,
  x32: Float32Array,
  sq: Float64Array,
  n: number,
  dim: number,
  centers: Float64Array,
  k: number,
  labels: Int32Array,
  signal?: AbortSignal,
): Promise<void> {
  const c32 = Float32Array.from(centers);
  let maxC = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centers[c * dim + j] * centers[c * dim + j];
    if (s > maxC) maxC = s;
  }
  const res = await knnSearch(c32, x32, dim, Math.min(2, k), "euclidean", { signal });
  const kk = res.k;
  const recheck: number[] = [];
  for (let i = 0; i < n; i++) {
    labels[i] = res.indices[i * kk];
    if (kk < 2) continue;
    const d1 = res.distances[i * kk];
    const d2 = res.distances[i * kk + 1];
    if (d2 * d2 - d1 * d1 <= RECHECK_GAP * (sq[i] + maxC)) recheck.push(i);
  }
  if (recheck.length) {
    const sub = new Int32Array(recheck.length);
    const xs = new Float64Array(recheck.length * dim);
    recheck.forEach((i, r) => xs.set(x.subarray(i * dim, (i + 1) * dim), r * dim));
    assign(xs, recheck.length, dim, centers, k, sub);
    recheck.forEach((i, r) => (labels[i] = sub[r]));
  }
}

/** M-step: new centers as the mean of their points; empty clusters take the farthest points. */
function update(x: Float64Array, n: number, dim: number, old: Float64Array, k: number, labels: Int32Array, out: Float64Array): void {
  out.fill(0);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    counts[c]++;
    const a = i * dim;
    const b = c * dim;
    for (let j = 0; j < dim; j++) out[b + j] += x[a + j];
  }
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
  // centered float64 copy, as scikit-learn subtracts the mean before clustering
  const x = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += vectors[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const v = vectors[i * dim + j] - mean[j];
      x[i * dim + j] = v;
      s += v * v;
    }
    sq[i] = s;
  }
  const tol = meanVariance(x, n, dim) * (options.tol ?? 1e-4);
  // small problems stay in plain float64 loops; large ones use the GEMM kernel for the E-step
  const x32 = n * k * dim >= KERNEL_MIN_WORK ? Float32Array.from(x) : null;
  const labels = new Int32Array(n);
  const step = (c: Float64Array) => (x32 ? assignKnn(x, x32, sq, n, dim, c, k, labels, options.signal) : assign(x, n, dim, c, k, labels));
  const rng = new RandomState(options.seed ?? 0);
  const seeds = kmeansPlusPlus(x, sq, n, dim, k, rng);
  let centers = new Float64Array(k * dim);
  seeds.forEach((s, c) => centers.set(x.subarray(s * dim, (s + 1) * dim), c * dim));
  let next = new Float64Array(k * dim);
  const previous = new Int32Array(n).fill(-1);
  let strict = false;
  let it = 0;
  for (; it < maxIter; it++) {
    options.signal?.throwIfAborted();
    options.progress?.(it / maxIter);
    await step(centers);
    update(x, n, dim, centers, k, labels, next);
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
  if (!strict) await step(centers);
  for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) centers[c * dim + j] += mean[j];
  options.progress?.(1);
  return { centers, labels, iterations: Math.min(it + 1, maxIter) };
}
