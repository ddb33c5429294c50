import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { findPython, holdFiftyOneDatabase, projectRoot } from "../src/fiftyone/localDatabase";
import { BenchContext, datasetCreator } from "./context";
import { benchEmbeddingsPanel, formatPanelFigures } from "./embeddingsPanel.bench";
import { benchExactDuplicates } from "./exactDuplicates.bench";
import { benchEmbeddings } from "./embeddings.bench";
import { benchNearDuplicates, nearDuplicateSizes } from "./nearDuplicates.bench";
import { benchSimilarity, benchWarmSort, similarityBenchSizes } from "./similarity.bench";
import { benchNearDuplicatesQuality, formatQuality } from "./nearDuplicatesQuality.bench";
import { formatTable, Row } from "./measure";
import { benchVisualization, VizBenchMethod } from "./visualization.bench";
import { benchScores, scoreBenchOptions } from "./scores.bench";
import { benchNearDuplicates1m, nearDuplicates1mSize } from "./nearDuplicates1m.bench";
import { benchShardedHnsw } from "./shardedHnsw.bench";
import { benchBridgeLatency } from "./bridgeLatency.bench";

/**
 * Side-by-side benchmarks: this runtime and the Python reference (fiftyone-brain) on the
 * same inputs, on this machine, in one run. Prints a Markdown table and, for a full run,
 * writes it to bench/RESULTS.md. Usage: npm run bench [-- --repeats N] [--only GROUP]
 * [--viz-sizes 10000,70000] [--viz-methods umap,tsne,umap-unseeded] [--scores-sizes 10000,50000,100000] [--scores-dim 512] [--scores-methods uniqueness,representativeness]
 * [--det-images 10000]; the Embeddings panel's figures (printed, not written):
 * npm run bench -- --embeddings-panel [N]
 */
async function main(): Promise<void> {
  const repeatsArg = process.argv.indexOf("--repeats");
  const repeats = repeatsArg > 0 ? Number(process.argv[repeatsArg + 1]) : 3;
  // --viz-sizes 10000,70000 (0 to skip); --only visualization runs only those rows
  const vizArg = process.argv.indexOf("--viz-sizes");
  const vizSizes = (vizArg > 0 ? process.argv[vizArg + 1] : "10000").split(",").map(Number).filter((s) => s > 0);
  const vizMethodsArg = process.argv.indexOf("--viz-methods");
  const vizMethods = (vizMethodsArg > 0 ? process.argv[vizMethodsArg + 1] : "umap,tsne").split(",").filter((m): m is VizBenchMethod => ["umap", "umap-unseeded", "tsne"].includes(m));
  const only = process.argv.indexOf("--only") > 0 ? process.argv[process.argv.indexOf("--only") + 1] : null;
  const root = projectRoot();
  const python = findPython(root);
  const dbName = `brain_ts_bench_${process.pid}`;
  const held = await holdFiftyOneDatabase(python, { ...process.env, FIFTYONE_DATABASE_NAME: dbName });
  const env = {
    ...process.env,
    FIFTYONE_DATABASE_URI: held.location.uri,
    FIFTYONE_DATABASE_NAME: dbName,
    FIFTYONE_DATABASE_VALIDATION: "false",
    FIFTYONE_DO_NOT_TRACK: "true",
  };
  const workDir = join(tmpdir(), `brain-ts-bench-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const ctx: BenchContext = { database: held.location, env, python, workDir, repeats, createDataset: datasetCreator(python, env) };
  const rows: Row[] = [];
  // --embeddings-panel [N]: only the Embeddings panel in Chromium with N points (default 100000).
  const panelArg = process.argv.indexOf("--embeddings-panel");
  if (panelArg > 0) {
    const n = Number(process.argv[panelArg + 1]) || 100_000;
    try {
      console.log(formatPanelFigures(await benchEmbeddingsPanel(ctx, n)));
    } finally {
      const client = await MongoClient.connect(held.location.uri);
      await client.db(dbName).dropDatabase();
      await client.close();
      await held.release();
    }
    return;
  }
  // --only GROUP runs one group: exact_duplicates, similarity, visualization, embeddings, scores, near_duplicates.
  const runs = (group: string) => !only || only === group;
  let qualityTable = "";
  try {
    if (runs("exact_duplicates")) {
      rows.push(await benchExactDuplicates(ctx, 300, 96));
      rows.push(await benchExactDuplicates(ctx, 300, 1024));
    }
    if (runs("similarity")) {
      rows.push(...(await benchSimilarity(ctx)));
      rows.push(await benchWarmSort(ctx, similarityBenchSizes().n, similarityBenchSizes().dim));
    }
    if (runs("visualization")) {
      for (const size of vizSizes) {
        for (const method of vizMethods) rows.push(await benchVisualization(ctx, method, size));
      }
    }
    if (runs("embeddings")) rows.push(await benchEmbeddings(ctx, 256));
    if (runs("scores")) rows.push(...(await benchScores(ctx, scoreBenchOptions(process.argv))));
    if (runs("near_duplicates")) {
      const near = nearDuplicateSizes();
      for (const n of near.sizes) rows.push(await benchNearDuplicates(ctx, n, near.dim));
      qualityTable = `\n\n${formatQuality(await benchNearDuplicatesQuality(ctx))}`;
    }
    // Not in the default run: --only near_duplicates_1m [--near-1m-size N], hnsw_sharded, bridge, similarity_warm_1m.
    if (only === "near_duplicates_1m") {
      const size = nearDuplicates1mSize();
      rows.push(await benchNearDuplicates1m(ctx, size.n, size.dim));
    }
    if (only === "hnsw_sharded") rows.push(...(await benchShardedHnsw(ctx)));
    // --only similarity_warm_1m: warm sort_by_similarity on BENCH_SIM_WARM_N (default 1M) × 512
    // hnswlib; BENCH_SIM_WARM_REFERENCE=0 skips fiftyone-brain's sklearn side.
    // --only bridge: what an App operator call adds to a job (printed, not a table row).
    if (only === "bridge") {
      const b = await benchBridgeLatency(ctx);
      console.log(`sort_by_similarity through the App server (${b.n} × 512 hnswlib index, ${b.requests} requests): p50 ${(b.p50 * 1000).toFixed(1)} ms, p95 ${(b.p95 * 1000).toFixed(1)} ms`);
    }
    if (only === "similarity_warm_1m") {
      const n = Number(process.env.BENCH_SIM_WARM_N ?? 1_000_000);
      rows.push(await benchWarmSort(ctx, n, similarityBenchSizes().dim, 50, process.env.BENCH_SIM_WARM_REFERENCE !== "0"));
    }
  } finally {
    const client = await MongoClient.connect(held.location.uri);
    await client.db(dbName).dropDatabase();
    await client.close();
    await held.release();
  }
  const table = formatTable(rows) + qualityTable;
  const report = `Command: \`npm run bench\` (${repeats} runs each, median time, max peak RSS; ${new Date().toISOString().slice(0, 10)}, ${require("node:os").cpus().length} cores)\n\n${table}\n`;
  // One group's table would replace every other group's figures: only a full run writes the file.
  if (!only) writeFileSync(join(root, "bench", "RESULTS.md"), report);
  console.log(report);
  if (rows.some((r) => !r.agree)) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
