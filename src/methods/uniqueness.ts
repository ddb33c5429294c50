/**
 * Uniqueness (spec §1), reproducing fiftyone-brain's numbers with its default throw-away
 * sklearn similarity index (metric "cosine").
 *
 * Reference algorithm, and the decision taken for each quirk (spec §14.1):
 * - Embeddings are centered by the mean of all rows scored (the index's rows), then
 *   distances are sklearn's: cosine distance = clip(1 - x̂·ŷ, 0, 2) with zero rows left
 *   unnormalised (their distance to anything is 1). Reproduced.
 * - K = 3: the reference asks for K + 1 = 4 neighbours and drops the first column as
 *   "self", but its sklearn index never returns self, so the *nearest other* sample is
 *   dropped and the 2nd–4th nearest are used (an exact duplicate does not lower
 *   uniqueness). Reproduced by default (`reference: true`) since users compare numbers;
 *   `reference: false` uses the 1st–3rd nearest, what the code intends.
 * - Score s = mean(0.6·d₁, 0.3·d₂, 0.1·d₃) = (0.6·d₁ + 0.3·d₂ + 0.1·d₃) / 3, then divided
 *   by the maximum score (max is exactly 1, no lower rescaling). Reproduced.
 * - n ≤ 3: every score is 1. Reproduced.
 * - n = 4 (n ≤ 15000 path): the 4th "neighbour" is the NaN self-distance, so every score
 *   is NaN. Reproduced by default (a NaN max makes every ratio NaN, as numpy does);
 *   `reference: false` gives real scores.
 * - n > 15000: the reference switches to a Euclidean k-NN over L2-normalised centered
 *   vectors, so its distances become chord lengths ‖x̂ - ŷ‖ = √(2·cosdist) (zero rows
 *   stay zero). Reproduced by default (the ranking is unchanged, the values are not).
 * - metric "euclidean" (the reference's FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC):
 *   Euclidean distances between centered rows at every size.
 *
 * Everything is computed in float64 whatever the input array; memory is O(n) beyond the
 * input (the 4 smallest distances per row), not the reference's n × n matrix.
 */
import { knnSelf } from "../index/exactKnn";
import { centeredRows } from "./vectors";

export type Vectors = Float32Array | Float64Array;

const sqrt = Math.sqrt;

export const UNIQUENESS_K = 3;
export const UNIQUENESS_WEIGHTS = [0.6, 0.3, 0.1] as const;
/** The reference's sklearn index precomputes the full matrix up to this many rows. */
export const MAX_PRECOMPUTE_DISTS = 15000;

export interface UniquenessOptions {
  metric?: "cosine" | "euclidean";
  /** Reproduce the reference's outputs exactly (default true); see the module comment. */
  reference?: boolean;
  /** Called now and then with the fraction of rows done. */
  progress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Inserts d into row i's ascending list of the `m` smallest distances. */
/**
 * Float64 distance between centered rows i and j: cosine clipped to [0, 2] (rows
 * normalised), else Euclidean from the squared norms, as scikit-learn computes it.
 * (No global lookups such as Math.* here: they are slow inside vm contexts, e.g. under jest.)
 */
function pairDistance(rows: Float64Array, sq: Float64Array, i: number, j: number, dim: number, cosine: boolean): number {
  const a = i * dim;
  const b = j * dim;
  let dot = 0;
  for (let k = 0; k < dim; k++) dot += rows[a + k] * rows[b + k];
  if (cosine) {
    const d = 1 - dot;
    return d < 0 ? 0 : d > 2 ? 2 : d;
  }
  const d = sq[i] + sq[j] - 2 * dot;
  return d > 0 ? sqrt(d) : 0;
}

function insert(best: Float64Array, m: number, i: number, d: number): void {
  const base = i * m;
  if (!(d < best[base + m - 1])) return;
  let p = m - 1;
  while (p > 0 && best[base + p - 1] > d) {
    best[base + p] = best[base + p - 1];
    p--;
  }
  best[base + p] = d;
}

/**
 * The m smallest distances from each row to the *other* rows, ascending; NaN where a row
 * has fewer than m others (the reference's NaN self-distance sorts last).
 */
export function nearestDistances(
  vectors: Vectors,
  n: number,
  dim: number,
  m: number,
  distance: "cosine" | "chord" | "euclidean",
  options: Pick<UniquenessOptions, "progress" | "signal"> = {},
): Float64Array {
  if (vectors.length < n * dim) throw new Error(`nearestDistances: ${vectors.length} values for ${n} × ${dim}`);
  const { rows, sq } = centeredRows(vectors, n, dim, distance !== "euclidean");
  const best = new Float64Array(n * m).fill(Infinity);
  const cosine = distance === "cosine";
  const step = Math.max(1, Math.floor(n / 100));
  for (let i = 0; i < n; i++) {
    if (i % step === 0) {
      options.signal?.throwIfAborted();
      options.progress?.(1 - ((n - i) * (n - i)) / (n * n));
    }
    for (let j = i + 1; j < n; j++) {
      const d = pairDistance(rows, sq, i, j, dim, cosine);
      insert(best, m, i, d);
      insert(best, m, j, d);
    }
  }
  for (let x = 0; x < best.length; x++) if (best[x] === Infinity) best[x] = NaN;
  options.progress?.(1);
  return best;
}

/** Uniqueness of each of the n rows of a row-major n × dim matrix. */
export function computeUniqueness(vectors: Vectors, n: number, dim: number, options: UniquenessOptions = {}): Float64Array {
  const reference = options.reference ?? true;
  const metric = options.metric ?? "cosine";
  if (n <= UNIQUENESS_K) return new Float64Array(n).fill(1);
  const distance = metric === "euclidean" ? "euclidean" : reference && n > MAX_PRECOMPUTE_DISTS ? "chord" : "cosine";
  // reference: the K + 1 nearest others, first dropped; otherwise the K nearest others
  const m = reference ? UNIQUENESS_K + 1 : UNIQUENESS_K;
  const first = reference ? 1 : 0;
  const best = nearestDistances(vectors, n, dim, m, distance, options);
  return scoresFromDistances(best, n, m, first);
}

/** Extra float32 candidates per row, re-ranked in float64, so rounding cannot drop a true neighbour. */
const CANDIDATE_MARGIN = 4;

/**
 * nearestDistances with the candidate search done by the shared multi-threaded exact
 * k-NN kernel (float32 GEMM): each row's m + 4 nearest candidates are found there, then
 * their distances are recomputed in float64 exactly as nearestDistances does and the m
 * smallest kept. Same values as nearestDistances; the O(n²·d) part runs at BLAS speed.
 */
export async function nearestDistancesKnn(
  vectors: Vectors,
  n: number,
  dim: number,
  m: number,
  distance: "cosine" | "chord" | "euclidean",
  options: Pick<UniquenessOptions, "progress" | "signal"> = {},
): Promise<Float64Array> {
  const { rows, sq } = centeredRows(vectors, n, dim, distance !== "euclidean");
  const rows32 = Float32Array.from(rows);
  const knn = await knnSelf(rows32, dim, m + CANDIDATE_MARGIN, distance === "euclidean" ? "euclidean" : "cosine", {
    signal: options.signal,
    progress: (f) => options.progress?.(0.95 * f),
  });
  const best = new Float64Array(n * m).fill(Infinity);
  const k = knn.k;
  const cosine = distance === "cosine";
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const j = knn.indices[i * k + c];
      if (j < 0) continue;
      insert(best, m, i, pairDistance(rows, sq, i, j, dim, cosine));
    }
  }
  for (let x = 0; x < best.length; x++) if (best[x] === Infinity) best[x] = NaN;
  options.progress?.(1);
  return best;
}

/** computeUniqueness with the neighbour search on the shared k-NN kernel; same values. */
export async function computeUniquenessKnn(vectors: Vectors, n: number, dim: number, options: UniquenessOptions = {}): Promise<Float64Array> {
  const reference = options.reference ?? true;
  const metric = options.metric ?? "cosine";
  if (n <= UNIQUENESS_K) return new Float64Array(n).fill(1);
  const distance = metric === "euclidean" ? "euclidean" : reference && n > MAX_PRECOMPUTE_DISTS ? "chord" : "cosine";
  const m = reference ? UNIQUENESS_K + 1 : UNIQUENESS_K;
  const best = await nearestDistancesKnn(vectors, n, dim, m, distance, options);
  return scoresFromDistances(best, n, m, reference ? 1 : 0);
}

function scoresFromDistances(best: Float64Array, n: number, m: number, first: number): Float64Array {
  const out = new Float64Array(n);
  const [w1, w2, w3] = UNIQUENESS_WEIGHTS;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const b = i * m + first;
    // np.mean(dists[:, 1:] * weights, axis=1): sum of the weighted terms over 3
    const s = (w1 * best[b] + w2 * best[b + 1] + w3 * best[b + 2]) / 3;
    out[i] = s;
    if (Number.isNaN(s) || Number.isNaN(max)) max = NaN; // ndarray.max propagates NaN
    else if (s > max) max = s;
  }
  for (let i = 0; i < n; i++) out[i] /= max;
  return out;
}
