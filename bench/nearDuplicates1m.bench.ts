import { rmSync } from "node:fs";
import { join } from "node:path";
import { BenchContext } from "./context";
import { measureChild, Row } from "./measure";
import { NEAR_DUPLICATE_HNSW } from "../src/index/hnswRadiusGraph";

/**
 * Near duplicates at scale through the hnswlib method (default 1,000,000 × 512): clustered
 * float32 vectors with 5% noisy copies (bench/clusteredVectors.ts), cosine threshold 0.2.
 * Timed: the neighbour graph (sharded HNSW build on all cores, every row searched, exact
 * float64 re-check of candidates, deeper search of saturated rows) and the greedy
 * duplicate scan, on vectors already in memory: neither data generation nor FiftyOne's
 * database is in the time (reading 2 GB of embeddings from MongoDB is a separate cost).
 * Peak RSS is the process's at the end of the timed part. Recall: duplicate pairs
 * (distance ≤ threshold) among the first 100k rows by the exact kernel, found by the run.
 * Python side (BENCH_NEAR_1M_REFERENCE=0 skips it): the same work in Python's hnswlib
 * (centering, build with the same M / ef_construction, k-NN of every row with all threads,
 * pairs within the threshold; no exact re-check), for scale.
 */
export function nearDuplicates1mSize(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): { n: number; dim: number } {
  const arg = argv.indexOf("--near-1m-size");
  const n = Number(arg > 0 ? argv[arg + 1] : env.BENCH_NEAR_1M_SIZE ?? 1_000_000);
  const dim = Number(env.BENCH_NEAR_1M_DIM ?? 512);
  if (!(Number.isInteger(n) && n > 1 && Number.isInteger(dim) && dim > 0)) throw new Error(`Bad near_duplicates_1m size ${n} × ${dim}`);
  return { n, dim };
}

interface ChildOutput {
  duplicates: number;
  shards: number;
  subset: number;
  truePairs: number;
  foundPairs: number;
  recall: number;
  saturatedRows: number;
}

export async function benchNearDuplicates1m(ctx: BenchContext, n: number, dim: number, threshold = 0.2): Promise<Row> {
  const reference = process.env.BENCH_NEAR_1M_REFERENCE !== "0";
  const file = join(ctx.workDir, `near1m_${n}_${dim}.f32`);
  try {
    const ours = await measureChild<ChildOutput>(process.execPath, [
      "--max-old-space-size=8192",
      join(__dirname, "nearDuplicates1mChild.js"),
      JSON.stringify({ n, dim, threshold, subset: 100_000, ...(reference ? { out: file } : {}) }),
    ], ctx.env);
    const o = ours.output;
    const p = NEAR_DUPLICATE_HNSW;
    const ref = reference
      ? await measureChild<{ pairs: number }>(ctx.python, ["-c", `
import json, resource, time
import numpy as np, hnswlib
x = np.fromfile(${JSON.stringify(file)}, dtype=np.float32).reshape(-1, ${dim})
t0 = time.perf_counter()
x -= x.mean(axis=0, dtype=np.float64).astype(np.float32)
index = hnswlib.Index(space="cosine", dim=${dim})
index.init_index(max_elements=len(x), M=${p.m}, ef_construction=${p.ef_construction}, random_seed=${p.random_seed})
index.add_items(x, np.arange(len(x)), num_threads=-1)
index.set_ef(${p.ef})
labels, dist = index.knn_query(x, k=18, num_threads=-1)
rows = np.repeat(np.arange(len(x)), 18).reshape(len(x), 18)
pairs = int(np.count_nonzero((dist <= ${threshold}) & (labels > rows)))
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": {"pairs": pairs}}))
`], ctx.env)
      : { seconds: NaN, peakRssMb: NaN, output: { pairs: NaN } };
    return {
      benchmark: `near duplicates via hnswlib (cosine, threshold ${threshold}; brain-ts: ${o.shards} hnswlib-node shards in worker threads, M=${p.m}, ef_construction=${p.ef_construction}, ef=${p.ef}, 17 candidates, exact re-check; Python: hnswlib all threads, same parameters, no re-check)`,
      size: `${n} × ${dim} clustered float32, ${o.duplicates} duplicates; recall of duplicate pairs vs exact on the first ${o.subset}: ${o.recall.toFixed(4)} (${o.truePairs} pairs, ${o.foundPairs} found)`,
      ours: { seconds: ours.seconds, peakRssMb: ours.peakRssMb },
      reference: { seconds: ref.seconds, peakRssMb: ref.peakRssMb },
      agree: o.recall >= 0.95,
    };
  } finally {
    rmSync(file, { force: true });
  }
}
