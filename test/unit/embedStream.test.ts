import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { DecodePool } from "../../src/embeddings/decodePool";
import { embedStream } from "../../src/embeddings/embedStream";
import { prepareImage } from "../../src/embeddings/imagePipeline";
import { loadEmbeddingModel } from "../../src/embeddings/loadModel";
import { toyProjectionModel, writeModel } from "../support/toyClip";

const dir = mkdtempSync(join(tmpdir(), "brain-ts-stream-"));

async function noise(i: number): Promise<string> {
  const path = join(dir, `n${i}.png`);
  await sharp({ create: { width: 40 + i, height: 30 + 2 * i, channels: 3, background: { r: 20 * i, g: 100, b: 200 - 10 * i }, noise: { type: "gaussian", mean: 90, sigma: 40 } } })
    .png()
    .toFile(path);
  return path;
}

describe("decoding on worker threads, pipelined with inference", () => {
  it("worker threads prepare the same tensors as the main thread", async () => {
    expect(DecodePool.workerScript()).not.toBeNull(); // built by `npm run build`
    const pool = new DecodePool(2);
    expect(pool.threads).toBe(2);
    const spec = { name: "x", layout: "NCHW", channels: "RGB", height: 16, width: 16, resize: "fill", interpolation: "linear", scale: 1 / 255, mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.4] } as const;
    const file = await noise(1);
    const job = { image: file, patches: [[0.1, 0.1, 0.5, 0.5], null, [0.5, 0.5, 0, 0]], alpha: 0.2, forceSquare: true };
    const [inWorker, inMain] = await Promise.all([pool.prepare(job, { ...spec, mean: [...spec.mean], std: [...spec.std] }), prepareImage(job, { ...spec, mean: [...spec.mean], std: [...spec.std] })]);
    expect(inWorker.slots).toEqual([0]);
    expect(inWorker.failures.map((f) => f.slot)).toEqual([1, 2]);
    expect(Array.from(inWorker.data)).toEqual(Array.from(inMain.data));
    await pool.close();
  });

  it("streams items in order, one result per slot, across batches, with failures in place", async () => {
    const model = await loadEmbeddingModel(writeModel(join(dir, "m"), "proj", toyProjectionModel(16, 8)));
    const files = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(noise));
    writeFileSync(join(dir, "bad.png"), "nope");
    const items = [...files.slice(0, 3), join(dir, "bad.png"), ...files.slice(3)];
    const pool = new DecodePool(1);
    const out: Array<{ item: string; results: unknown[] }> = [];
    for await (const r of embedStream(model, pool, [items.slice(0, 5), items.slice(5)], (f) => ({ image: f }), { batchSize: 3, prefetch: 4 })) out.push(r);
    await pool.close();
    expect(out.map((o) => o.item)).toEqual(items);
    const direct = await model.embedImages(items);
    expect(direct.failures.map((f) => f.index)).toEqual([3]);
    let row = 0;
    out.forEach((o, i) => {
      const r = o.results[0] as { vector?: Float32Array; error?: string };
      if (i === 3) expect(r.error).toMatch(/unsupported image format/);
      else expect(Array.from(r.vector as Float32Array)).toEqual(Array.from(direct.vectors.subarray(row * 8, ++row * 8)));
    });
    await model.close();
  });
});
