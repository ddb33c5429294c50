import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { knnSearch } from "../src/index/exactKnn";
import { ShardedHnsw } from "../src/index/shardedHnsw";

/** One build of bench/shardedHnsw.bench.ts in its own process: { seconds: build, output: { rows, truth?, querySeconds } }. */
interface Args {
  base: string;
  queries: string;
  dim: number;
  k: number;
  m: number;
  efConstruction: number;
  ef: number;
  shards: number;
  exact: boolean;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const read = (path: string) => {
    const buf = readFileSync(path);
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  };
  const base = ShardedHnsw.shared(read(a.base));
  const queries = read(a.queries).slice();
  const n = base.length / a.dim;
  const t0 = performance.now();
  const index = await ShardedHnsw.build(base, n, a.dim, { space: "cosine", shards: a.shards, params: { m: a.m, ef_construction: a.efConstruction, ef: a.ef, random_seed: 100 } });
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const found = await index.search(queries, a.k);
  const querySeconds = (performance.now() - t1) / 1000;
  await index.close();
  const q = queries.length / a.dim;
  const rows = (labels: Int32Array) => Array.from({ length: q }, (_, i) => Array.from(labels.subarray(i * a.k, (i + 1) * a.k)));
  const truth = a.exact ? rows((await knnSearch(base, queries, a.dim, a.k, "cosine")).indices) : undefined;
  console.log(JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, output: { rows: rows(found.labels), truth, querySeconds } }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
