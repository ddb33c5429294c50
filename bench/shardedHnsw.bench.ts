import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenchContext } from "./context";
import { clusteredVectors } from "./clusteredVectors";
import { measureChild, median, Row } from "./measure";
import { recall, similarityBenchSizes } from "./similarity.bench";
import { ShardedHnsw } from "../src/index/shardedHnsw";

/**
 * hnswlib build on all cores: the sharded index (one hnswlib-node index per core, in
 * worker threads) against one hnswlib-node index (one thread) and Python's hnswlib (all
 * threads), same M / ef_construction / ef / seed, on clustered embedding-like data
 * (bench/clusteredVectors.ts; Gaussian rows are HNSW's worst case and are in the
 * similarity group). Sizes as the similarity group (BRAIN_TS_BENCH_SIM_N, _DIM, _QUERIES);
 * queries are held-out rows of the same distribution. Recall@10 against the exact kernel.
 */
const K = 10;
const HNSW = { m: 16, efConstruction: 200, ef: 100 };

interface Output {
  rows: number[][];
  truth?: number[][];
  querySeconds: number;
}

export async function benchShardedHnsw(ctx: BenchContext): Promise<Row[]> {
  const { n, dim, queries } = similarityBenchSizes();
  const { vectors } = clusteredVectors(n + queries, dim, { seed: 7 });
  const basePath = join(ctx.workDir, `sharded_base_${n}_${dim}.f32`);
  const queryPath = join(ctx.workDir, `sharded_queries_${queries}_${dim}.f32`);
  writeFileSync(basePath, Buffer.from(vectors.buffer as ArrayBuffer, 0, n * dim * 4));
  writeFileSync(queryPath, Buffer.from(vectors.buffer as ArrayBuffer, n * dim * 4, queries * dim * 4));
  const shards = ShardedHnsw.defaultShards();
  const child = (s: number, exact: boolean) =>
    measureChild<Output>(process.execPath, [join(__dirname, "shardedHnswChild.js"), JSON.stringify({ base: basePath, queries: queryPath, dim, k: K, ...HNSW, shards: s, exact })], ctx.env);
  const python = () =>
    measureChild<Output>(ctx.python, ["-c", `
import json, resource, time
import numpy as np, hnswlib
base = np.fromfile(${JSON.stringify(basePath)}, dtype=np.float32).reshape(-1, ${dim})
queries = np.fromfile(${JSON.stringify(queryPath)}, dtype=np.float32).reshape(-1, ${dim})
t0 = time.perf_counter()
index = hnswlib.Index(space="cosine", dim=${dim})
index.init_index(max_elements=len(base), ef_construction=${HNSW.efConstruction}, M=${HNSW.m}, random_seed=100)
index.add_items(base, np.arange(len(base)))
index.set_ef(${HNSW.ef})
seconds = time.perf_counter() - t0
t1 = time.perf_counter()
rows, _ = index.knn_query(queries, k=${K})
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "output": {"rows": rows.tolist(), "querySeconds": time.perf_counter() - t1}}))
`], ctx.env);
  const sharded = [];
  const single = [];
  const ref = [];
  try {
    for (let i = 0; i < ctx.repeats; i++) {
      sharded.push(await child(shards, i === 0));
      single.push(await child(1, false));
      ref.push(await python());
    }
  } finally {
    rmSync(basePath, { force: true });
    rmSync(queryPath, { force: true });
  }
  const truth = sharded[0].output.truth!;
  const peak = (ms: { peakRssMb: number }[]) => Math.max(...ms.map((m) => m.peakRssMb));
  const t = (ms: { seconds: number }[]) => median(ms.map((m) => m.seconds));
  const rShard = recall(sharded[0].output.rows, truth);
  const rSingle = recall(single[0].output.rows, truth);
  const rRef = recall(ref[0].output.rows, truth);
  const data = `${n}×${dim} clustered float32, ${queries} held-out queries, k=${K}, cosine`;
  const params = `M=${HNSW.m}, ef_construction=${HNSW.efConstruction}, ef=${HNSW.ef}`;
  return [
    {
      benchmark: `hnswlib build, ${shards} shards in worker threads vs Python hnswlib all threads (${params}; recall@10: sharded ${rShard.toFixed(3)}, Python ${rRef.toFixed(3)})`,
      size: `${data}; queries/s sharded ${(queries / median(sharded.map((m) => m.output.querySeconds))).toFixed(0)}, Python ${(queries / median(ref.map((m) => m.output.querySeconds))).toFixed(0)}`,
      ours: { seconds: t(sharded), peakRssMb: peak(sharded) },
      reference: { seconds: t(ref), peakRssMb: peak(ref) },
      agree: rShard >= 0.95 && Math.abs(rShard - rRef) < 0.03,
    },
    {
      benchmark: `hnswlib build, one hnswlib-node index (one thread) vs Python hnswlib all threads (${params}; recall@10: ${rSingle.toFixed(3)})`,
      size: data,
      ours: { seconds: t(single), peakRssMb: peak(single) },
      reference: { seconds: t(ref), peakRssMb: peak(ref) },
      agree: Math.abs(rSingle - rRef) < 0.03,
    },
  ];
}
