import { readFileSync } from "node:fs";
import { DecodePool } from "../src/embeddings/decodePool";
import { embedStream } from "../src/embeddings/embedStream";
import { preprocessBatch } from "../src/embeddings/imagePipeline";
import { loadEmbeddingModel } from "../src/embeddings/loadModel";

/**
 * Child process of the embeddings benchmark: the default model over image files, as
 * (1) pure inference on the same batches already decoded, (2) end to end (files →
 * vectors, decoding on worker threads pipelined with inference). Prints a Measurement.
 */
async function main(): Promise<void> {
  const { files, batchSize, threads } = JSON.parse(readFileSync(0, "utf8")) as { files: string[]; batchSize: number; threads: number };
  const model = await loadEmbeddingModel();
  const spec = model.manifest.input;
  // Threads started (and sharp loaded in them) before the clock, as the model is loaded.
  const pool = new DecodePool(threads);
  await Promise.all(files.slice(0, Math.max(1, threads)).map((f) => pool.prepare({ image: f }, spec)));
  // Warm-up: onnxruntime's first runs allocate.
  const warm = await preprocessBatch(files.slice(0, batchSize), spec);
  await model.embed(warm.data, warm.indices.length);

  const vectors = new Float32Array(files.length * model.dim);
  const t0 = process.hrtime.bigint();
  let row = 0;
  for await (const { results } of embedStream(model, pool, [files], (f) => ({ image: f }), { batchSize })) {
    const r = results[0];
    if ("vector" in r) vectors.set(r.vector, row * model.dim);
    row++;
  }
  const endToEnd = Number(process.hrtime.bigint() - t0) / 1e9;
  const decodeThreads = pool.threads;
  await pool.close();

  // Pure inference on the same batches, decoded beforehand (not timed).
  const batches = [];
  for (let i = 0; i < files.length; i += batchSize) batches.push(await preprocessBatch(files.slice(i, i + batchSize), spec));
  const t1 = process.hrtime.bigint();
  for (const b of batches) await model.embed(b.data, b.indices.length);
  const inference = Number(process.hrtime.bigint() - t1) / 1e9;
  batches.length = 0;

  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const first = Array.from(vectors.subarray(0, 4 * model.dim));
  console.log(JSON.stringify({ seconds: endToEnd, peakRssMb, output: { inference, rows: row, decodeThreads, first } }));
  await model.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
