import { BrainError } from "../errors";
import type { KnnResult, SelfKnnOptions } from "./exactKnn";
import type { HnswParams } from "./hnswIndex";
import { ShardedHnsw } from "./shardedHnsw";

/**
 * Approximate k nearest other rows of every row, by sharded HNSW over all cores, in the
 * form and distances of `knnSelf` (Euclidean ‖x − y‖, cosine 1 − cos). For neighbour
 * graphs of large sets, where the exact search grows as n²: at 70 000 × 784 it finds
 * 98% of the exact 14 nearest in 13 s against 28 s exact (2 cores).
 *
 * Deterministic for a given number of cores (each shard is built by one thread in row
 * order with a fixed seed).
 */
export const KNN_HNSW: HnswParams = { m: 16, ef_construction: 48, ef: 32, random_seed: 100 };

const BATCH_ROWS = 4096;

export async function knnSelfHnsw(
  vectors: Float32Array, dim: number, k: number, metric: "euclidean" | "cosine",
  options: Pick<SelfKnnOptions, "signal" | "progress"> = {},
): Promise<KnnResult> {
  if (vectors.length % dim !== 0) throw new BrainError("INVALID_DATA", `Vectors do not have dimension ${dim} (${vectors.length} values)`);
  const n = vectors.length / dim;
  if (!Number.isInteger(k) || k < 1 || k >= n) throw new BrainError("INVALID_PARAMS", `k must be an integer in [1, ${n - 1}]; got ${k}`);
  const kk = k + 1; // a row finds itself too
  const index = await ShardedHnsw.build(vectors, n, dim, {
    space: metric === "cosine" ? "cosine" : "l2",
    params: { ...KNN_HNSW, ef: Math.max(KNN_HNSW.ef, kk) },
    signal: options.signal,
    progress: (f) => options.progress?.(0.5 * f),
  });
  const out: KnnResult = { indices: new Int32Array(n * k).fill(-1), distances: new Float32Array(n * k).fill(Infinity), k };
  try {
    for (let start = 0; start < n; start += BATCH_ROWS) {
      const end = Math.min(n, start + BATCH_ROWS);
      const found = await index.searchRows(start, end, kk, options.signal);
      for (let q = start; q < end; q++) {
        let t = 0;
        for (let c = 0; c < kk && t < k; c++) {
          const j = found.labels[(q - start) * kk + c];
          if (j < 0) break;
          if (j === q) continue;
          const d = found.distances[(q - start) * kk + c];
          out.indices[q * k + t] = j;
          // hnswlib's l2 space is the squared distance.
          out.distances[q * k + t++] = metric === "cosine" ? d : Math.sqrt(Math.max(0, d));
        }
      }
      options.progress?.(0.5 + (0.5 * end) / n);
    }
  } finally {
    await index.close();
  }
  return out;
}
