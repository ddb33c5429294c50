import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { knnSearch } from "../src/index/exactKnn";
import { centeredDistance, centering, NEAR_DUPLICATE_HNSW } from "../src/index/hnswRadiusGraph";
import { ShardedHnsw } from "../src/index/shardedHnsw";
import { findDuplicates } from "../src/methods/nearDuplicates";
import { neighbourGraphs } from "../src/runtime/jobs/nearDuplicates";
import { clusteredVectors } from "./clusteredVectors";

/**
 * One run of the large near-duplicate benchmark (bench/nearDuplicates1m.bench.ts), in its
 * own process so its peak RSS is its own. Generates the data into shared memory (not
 * timed), times the near-duplicate graph on the sharded HNSW index plus the greedy
 * duplicate scan (exactly what compute_near_duplicates does after reading embeddings),
 * records the peak RSS at that point, then checks recall against the exact kernel on the
 * first `subset` rows and writes the vectors for the Python side.
 */
interface Args {
  n: number;
  dim: number;
  threshold: number;
  subset: number;
  /** Where to write the vectors for the Python reference; none to skip. */
  out?: string;
}

async function main(): Promise<void> {
  const { n, dim, threshold, subset, out } = JSON.parse(process.argv[2]) as Args;
  const { vectors } = clusteredVectors(n, dim, { seed: 1 });
  const t0 = performance.now();
  const { exact } = await neighbourGraphs(vectors, n, dim, "cosine", threshold, { method: "hnswlib" });
  const found = findDuplicates(exact, threshold);
  const seconds = (performance.now() - t0) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // Truth on the first m rows: every pair within the threshold by the exact kernel (on the
  // rows centered by the full data's mean, as the run centers them), distances in float64.
  const m = Math.min(n, subset);
  const { mean, norms } = centering(vectors, n, dim, "cosine");
  const centered = new Float32Array(m * dim);
  for (let i = 0; i < m * dim; i++) centered[i] = vectors[i] - mean[i % dim];
  const K = 64;
  const cand = await knnSearch(centered, centered, dim, K, "cosine", { selfIndex: Int32Array.from({ length: m }, (_, i) => i), radius: threshold + 1e-3 });
  let truth = 0;
  let hit = 0;
  let saturated = 0;
  const inGraph = (i: number, j: number) => {
    for (let k = exact.offsets[i]; k < exact.offsets[i + 1]; k++) if (exact.indices[k] === j) return true;
    return false;
  };
  for (let i = 0; i < m; i++) {
    if (cand.indices[i * K + K - 1] >= 0) saturated++;
    for (let c = 0; c < K; c++) {
      const j = cand.indices[i * K + c];
      if (j < 0) break;
      if (j <= i || centeredDistance(vectors, mean, norms, dim, i, j) > threshold) continue;
      truth++;
      if (inGraph(i, j)) hit++;
    }
  }
  let found_ = 0;
  for (let i = 0; i < m; i++) for (let k = exact.offsets[i]; k < exact.offsets[i + 1]; k++) if (exact.indices[k] > i && exact.indices[k] < m && exact.distances[k] <= threshold) found_++;
  if (out) writeFileSync(out, Buffer.from(vectors.buffer as ArrayBuffer, 0, vectors.byteLength));
  console.log(JSON.stringify({
    seconds,
    peakRssMb,
    output: {
      duplicates: found.duplicates.length,
      shards: ShardedHnsw.defaultShards(),
      params: NEAR_DUPLICATE_HNSW,
      subset: m,
      truePairs: truth,
      foundPairs: found_,
      recall: truth ? hit / truth : 1,
      saturatedRows: saturated,
    },
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
