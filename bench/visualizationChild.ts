import { readFileSync, writeFileSync } from "node:fs";
import { knnSelf } from "../src/index/exactKnn";
import { fitPca, projectPca } from "../src/methods/visualization/pca";
import { autoLearningRate, tsne, tsneNeighborCount } from "../src/methods/visualization/tsne";
import { umap, umapNeighbors } from "../src/methods/visualization/umap";

/**
 * Child process of the visualization benchmark: runs this runtime's UMAP or t-SNE on a
 * raw float32 n × d file exactly as the compute_visualization job does (the method's
 * neighbour search, then the method; t-SNE after PCA to 50 dimensions, with
 * learning_rate "auto", as openTSNE scales its own with n), writes the
 * points, prints its Measurement.
 */
interface ChildArgs {
  method: "umap" | "umap-unseeded" | "tsne";
  input: string;
  output: string;
  n: number;
  dim: number;
  seed: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as ChildArgs;
  const raw = readFileSync(args.input);
  const x = new Float32Array(raw.buffer, raw.byteOffset, args.n * args.dim);
  const { n, dim } = args;
  const t0 = process.hrtime.bigint();
  let points: Float32Array;
  if (args.method !== "tsne") {
    const nn = await umapNeighbors(x, dim, 14, "euclidean");
    points = await umap(x, n, dim, nn, { numDims: 2, numNeighbors: 15, minDist: 0.1, seed: args.method === "umap" ? args.seed : null });
  } else {
    const reduced = dim > 50 ? await projectPca(await fitPca(x, n, dim, 50), x, n) : x;
    const d = dim > 50 ? 50 : dim;
    const nn = await knnSelf(reduced, d, tsneNeighborCount(n, 30), "euclidean");
    points = await tsne(reduced, n, d, nn, { numDims: 2, perplexity: 30, learningRate: autoLearningRate(n), maxIters: 1000 });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(args.output, Buffer.from(points.buffer, points.byteOffset, points.byteLength));
  console.log(JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, output: null }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
