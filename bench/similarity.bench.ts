import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenchContext } from "./context";
import { clusteredVectors } from "./clusteredVectors";
import { measureChild, NOT_RUN, median, Row } from "./measure";

/**
 * Similarity search, side by side on the same float32 data: embedding-like clustered rows
 * (bench/clusteredVectors.ts; queries drawn from the same clusters), as pure Gaussian rows
 * are the worst case of graph indexes and unlike real embeddings:
 * - exact k-NN (cosine, k=10): this runtime's exact index (the shared onnxruntime GEMM
 *   kernel) vs scikit-learn's brute-force NearestNeighbors; GFLOP/s = 2·q·n·d / time;
 * - hnswlib: build time, queries/s and recall@10 against exact, hnswlib-node vs Python's
 *   hnswlib with the same M / ef_construction / ef / seed.
 * Sizes: BRAIN_TS_BENCH_SIM_N (default 100000), _DIM (512), _QUERIES (1000).
 */
export interface SimilarityBenchSizes {
  n: number;
  dim: number;
  queries: number;
}

export function similarityBenchSizes(env: NodeJS.ProcessEnv = process.env): SimilarityBenchSizes {
  const int = (name: string, fallback: number) => {
    const v = Number(env[name]);
    return Number.isInteger(v) && v > 0 ? v : fallback;
  };
  return { n: int("BRAIN_TS_BENCH_SIM_N", 100_000), dim: int("BRAIN_TS_BENCH_SIM_DIM", 512), queries: int("BRAIN_TS_BENCH_SIM_QUERIES", 1000) };
}

const K = 10;
const HNSW = { m: 16, efConstruction: 200, ef: 100 };

function gaussian(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand()));
    const t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

interface Output {
  buildSeconds: number;
  rows: number[][];
}

/** Recall@k of approximate neighbour rows against exact ones. */
export function recall(approx: number[][], exact: number[][]): number {
  let hits = 0;
  let total = 0;
  approx.forEach((row, i) => {
    const truth = new Set(exact[i]);
    hits += row.filter((id) => truth.has(id)).length;
    total += exact[i].length;
  });
  return hits / total;
}

export async function benchSimilarity(ctx: BenchContext, sizes: SimilarityBenchSizes = similarityBenchSizes()): Promise<Row[]> {
  const { n, dim, queries } = sizes;
  const basePath = join(ctx.workDir, `sim_base_${n}_${dim}.f32`);
  const queryPath = join(ctx.workDir, `sim_queries_${queries}_${dim}.f32`);
  const rows = clusteredVectors(n + queries, dim, { dupFraction: 0, seed: 1 }).vectors;
  writeFileSync(basePath, Buffer.from(rows.slice(0, n * dim).buffer));
  writeFileSync(queryPath, Buffer.from(rows.slice(n * dim).buffer));
  const child = (mode: "exact" | "hnswlib") =>
    measureChild<Output>(process.execPath, [join(__dirname, "similarityChild.js"), JSON.stringify({ mode, base: basePath, queries: queryPath, dim, k: K, ...HNSW })], ctx.env);
  const python = (mode: "exact" | "hnswlib") =>
    measureChild<Output>(ctx.python, ["-c", `
import json, resource, time
import numpy as np
base = np.fromfile(${JSON.stringify(basePath)}, dtype=np.float32).reshape(-1, ${dim})
queries = np.fromfile(${JSON.stringify(queryPath)}, dtype=np.float32).reshape(-1, ${dim})
t0 = time.perf_counter()
if ${JSON.stringify(mode)} == "exact":
    from sklearn.neighbors import NearestNeighbors
    index = NearestNeighbors(n_neighbors=${K}, algorithm="brute", metric="cosine").fit(base)
    build = time.perf_counter() - t0
    index.kneighbors(queries[:1])
    t1 = time.perf_counter()
    _, rows = index.kneighbors(queries)
else:
    import hnswlib
    index = hnswlib.Index(space="cosine", dim=${dim})
    index.init_index(max_elements=len(base), ef_construction=${HNSW.efConstruction}, M=${HNSW.m}, random_seed=100)
    index.add_items(base, np.arange(len(base)))
    index.set_ef(${HNSW.ef})
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    rows, _ = index.knn_query(queries, k=${K})
seconds = time.perf_counter() - t1
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "output": {"buildSeconds": build, "rows": rows.tolist()}}))
`], ctx.env);

  const runs = async (f: () => Promise<Awaited<ReturnType<typeof child>>>) => {
    const out = [];
    for (let i = 0; i < ctx.repeats; i++) out.push(await f());
    return out;
  };
  const oursExact = await runs(() => child("exact"));
  const refExact = await runs(() => python("exact"));
  const oursHnsw = await runs(() => child("hnswlib"));
  const refHnsw = await runs(() => python("hnswlib"));

  const flops = 2 * queries * n * dim;
  const tOurs = median(oursExact.map((m) => m.seconds));
  const tRef = median(refExact.map((m) => m.seconds));
  const exactAgreement = recall(oursExact[0].output.rows, refExact[0].output.rows);
  const truth = oursExact[0].output.rows;
  const recallOurs = recall(oursHnsw[0].output.rows, truth);
  const recallRef = recall(refHnsw[0].output.rows, truth);
  const buildOurs = median(oursHnsw.map((m) => m.output.buildSeconds));
  const buildRef = median(refHnsw.map((m) => m.output.buildSeconds));
  const qOurs = median(oursHnsw.map((m) => m.seconds));
  const qRef = median(refHnsw.map((m) => m.seconds));
  const peak = (ms: { peakRssMb: number }[]) => Math.max(...ms.map((m) => m.peakRssMb));
  const data = `${n}×${dim} float32, ${queries} queries, k=${K}, cosine`;
  return [
    {
      benchmark: `exact k-NN (GFLOP/s: brain-ts ${(flops / tOurs / 1e9).toFixed(1)}, scikit-learn brute ${(flops / tRef / 1e9).toFixed(1)})`,
      size: `${data}; same neighbours: ${(100 * exactAgreement).toFixed(2)}%`,
      ours: { seconds: tOurs, peakRssMb: peak(oursExact) },
      reference: { seconds: tRef, peakRssMb: peak(refExact) },
      agree: exactAgreement >= 0.999,
    },
    {
      benchmark: `hnswlib build (M=${HNSW.m}, ef_construction=${HNSW.efConstruction}; hnswlib-node one thread, Python hnswlib all threads)`,
      size: data,
      ours: { seconds: buildOurs, peakRssMb: peak(oursHnsw) },
      reference: { seconds: buildRef, peakRssMb: peak(refHnsw) },
      agree: true,
    },
    {
      benchmark: `hnswlib queries (ef=${HNSW.ef}; queries/s: brain-ts ${(queries / qOurs).toFixed(0)}, Python ${(queries / qRef).toFixed(0)})`,
      size: `${data}; recall@10 vs exact: brain-ts ${recallOurs.toFixed(3)}, Python ${recallRef.toFixed(3)}`,
      ours: { seconds: qOurs, peakRssMb: peak(oursHnsw) },
      reference: { seconds: qRef, peakRssMb: peak(refHnsw) },
      agree: Math.abs(recallOurs - recallRef) < 0.02,
    },
  ];
}

/**
 * Warm sort_by_similarity through the runtime's job layer (database reads, cached index,
 * hnswlib search; the App → Python bridge hop is not included) vs the reference's
 * `sort_by_similarity` on a loaded sklearn index in Python: p95 of `queries` requests.
 */
export async function benchWarmSort(ctx: BenchContext, n: number, dim: number, queries = 50, reference = true): Promise<Row> {
  const name = `bench_sim_warm_${n}_${dim}`;
  const basePath = join(ctx.workDir, `warm_${n}_${dim}.f32`);
  writeFileSync(basePath, Buffer.from(gaussian(n * dim, 3).buffer));
  const qs: number[][] = [];
  const qdata = gaussian(queries * dim, 4);
  for (let i = 0; i < queries; i++) qs.push(Array.from(qdata.subarray(i * dim, (i + 1) * dim)));
  // Passed as a file: 50 × 512 numbers exceed the 128 KiB limit of one command-line argument.
  const queriesFile = join(ctx.workDir, `warm_${n}_${dim}_queries.json`);
  writeFileSync(queriesFile, JSON.stringify(qs));
  await measureChild(ctx.python, ["-c", `
import json, numpy as np, fiftyone as fo
base = np.fromfile(${JSON.stringify(basePath)}, dtype=np.float32).reshape(-1, ${dim})
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.add_samples([fo.Sample(filepath="/tmp/warm_%d.png" % i) for i in range(len(base))], progress=False)
ds.set_values("emb", list(base), progress=False)
print(json.dumps({"seconds": 0, "peakRssMb": 0, "output": None}))
`], ctx.env);
  const ours = await measureChild<{ buildSeconds: number; bytesPerVector: number; p50: number }>(process.execPath, [
    join(__dirname, "similarityWarmChild.js"),
    JSON.stringify({ database: ctx.database, dataset: name, backend: "hnswlib", queriesFile, k: 25 }),
  ], ctx.env);
  const ref = !reference ? null : await measureChild<{ p50: number }>(ctx.python, ["-c", `
import json, resource, time, numpy as np, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(name)})
fob.compute_similarity(ds, embeddings="emb", brain_key="warm_ref", progress=False)
qs = np.array(json.load(open(${JSON.stringify(queriesFile)})), dtype=np.float32)
times = []
for q in qs:
    t = time.perf_counter()
    ds.sort_by_similarity(q, k=25, brain_key="warm_ref").values("id")
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"seconds": times[min(len(times) - 1, int(np.ceil(0.95 * len(times))) - 1)], "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": {"p50": times[len(times) // 2]}}))
`], ctx.env);
  return {
    benchmark: `warm sort_by_similarity p95, k=25 (brain-ts: hnswlib through the job layer, p50 ${(ours.output.p50 * 1000).toFixed(1)} ms, ≈${(ours.output.bytesPerVector).toFixed(0)} B/vector, index built in ${ours.output.buildSeconds.toFixed(0)} s; ${ref ? `fiftyone-brain: sklearn, p50 ${(ref.output.p50 * 1000).toFixed(1)} ms` : "fiftyone-brain not run"})`,
    size: `${n}×${dim} float32, ${queries} queries`,
    ours: { seconds: ours.seconds, peakRssMb: ours.peakRssMb },
    reference: ref ? { seconds: ref.seconds, peakRssMb: ref.peakRssMb } : NOT_RUN,
    agree: true,
  };
}
