import type { QueryResult, SimilarityMetric } from "../../src/index/similarityIndex";

/** Reference k-NN computed here, in float64, to check the vector-database backends against. */

export function randomVectors(n: number, dim: number, seed: number): Float32Array {
  // mulberry32: small, seeded, good enough for test data
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: n * dim }, () => next() * 2 - 1);
}

/** Distance as the backends report it: cosine 1 − cos, euclidean L2, dotproduct 1 − x·q. */
export function distance(metric: SimilarityMetric, a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    sq += (a[i] - b[i]) ** 2;
  }
  if (metric === "cosine") return 1 - dot / Math.sqrt(na * nb);
  if (metric === "euclidean") return Math.sqrt(sq);
  return 1 - dot;
}

export function bruteForce(
  metric: SimilarityMetric,
  ids: string[],
  vectors: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  restrictTo?: ReadonlySet<string>,
): { ids: string[]; distances: number[] } {
  const rows = ids
    .map((id, i) => ({ id, d: distance(metric, vectors.subarray(i * dim, (i + 1) * dim), query) }))
    .filter((r) => restrictTo === undefined || restrictTo.has(r.id))
    .sort((a, b) => a.d - b.d)
    .slice(0, k);
  return { ids: rows.map((r) => r.id), distances: rows.map((r) => r.d) };
}

/**
 * Same ranking as the reference: equal length, each distance within `tol` of the reference's
 * at that rank, and the same id at every rank whose reference distance is not tied (within
 * `tol`) with a neighbour's, including the first result left out of the top k.
 */
export function expectSameRanking(
  got: QueryResult,
  ref: { ids: string[]; distances: number[] },
  refNext: number | undefined,
  tol = 1e-5,
): void {
  expect(got.ids.length).toBe(ref.ids.length);
  const d = ref.distances;
  for (let i = 0; i < d.length; i++) {
    expect(Math.abs(got.distances[i] - d[i])).toBeLessThan(tol);
    const after = i + 1 < d.length ? d[i + 1] : refNext;
    const tied = (i > 0 && d[i] - d[i - 1] < tol) || (after !== undefined && after - d[i] < tol);
    if (!tied) expect(got.ids[i]).toBe(ref.ids[i]);
  }
}
