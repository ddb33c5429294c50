import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { DecodePool } from "../src/embeddings/decodePool";
import { resolveModel } from "../src/embeddings/loadModel";
import { BenchContext } from "./context";
import { median, Row } from "./measure";

/** Photo-sized JPEGs (500×375) of shapes over noise, so decoding costs what real photos cost. */
async function writeImages(dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const hue = (i * 47) % 360;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="375"><rect width="500" height="375" fill="hsl(${hue},40%,60%)"/>` +
      `<circle cx="${100 + (i * 13) % 300}" cy="${80 + (i * 7) % 200}" r="${40 + (i % 60)}" fill="hsl(${(hue + 120) % 360},70%,40%)"/>` +
      `<rect x="${(i * 29) % 350}" y="${(i * 17) % 250}" width="120" height="90" fill="hsl(${(hue + 240) % 360},60%,50%)"/></svg>`;
    const noise = await sharp({ create: { width: 500, height: 375, channels: 3, background: { r: 128, g: 128, b: 128 }, noise: { type: "gaussian", mean: 0, sigma: 18 } } }).png().toBuffer();
    const path = join(dir, `img${i}.jpg`);
    await sharp(Buffer.from(svg)).composite([{ input: noise, blend: "overlay" }]).jpeg({ quality: 90 }).toFile(path);
    files.push(path);
  }
  return files;
}

function runChild<T>(command: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${command} failed: ${err.message}\n${stderr}`));
      const lines = stdout.trim().split("\n");
      resolve(JSON.parse(lines[lines.length - 1]) as T);
    });
    child.stdin?.end(input);
  });
}

type Side = { seconds: number; peakRssMb: number; output: { inference: number; rows: number; first: number[]; decodeThreads?: number } };

function cosine(a: number[], b: number[], from: number, dim: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = from; i < from + dim; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/**
 * The default model over `count` JPEGs: brain-ts (onnxruntime-node, sharp decoding on
 * worker threads pipelined with inference) vs Python onnxruntime + PIL preprocessing on
 * the same model file and images. Also reports brain-ts end-to-end throughput as a share
 * of its pure inference throughput on the same batches.
 */
export async function benchEmbeddings(ctx: BenchContext, count: number, batchSize = 16): Promise<Row> {
  const files = await writeImages(join(ctx.workDir, `embed_${count}`), count);
  const { modelPath, manifest } = await resolveModel("mobilenet_v2_nsfwjs");
  const ours: Side[] = [];
  const reference: Side[] = [];
  for (let i = 0; i < ctx.repeats; i++) {
    ours.push(await runChild<Side>(process.execPath, [join(__dirname, "embeddingsChild.js")], JSON.stringify({ files, batchSize, threads: DecodePool.defaultThreads() }), ctx.env));
    reference.push(
      await runChild<Side>(ctx.python, ["-c", `
import json, resource, sys, time
import numpy as np, onnxruntime as ort
from PIL import Image
cfg = json.load(sys.stdin)
files, bs = cfg["files"], cfg["batchSize"]
sess = ort.InferenceSession(cfg["model"], providers=["CPUExecutionProvider"])
def load(p):
    # As FiftyOne's ONNX path does: PIL, RGB, resize to the model's input, /255, CHW.
    im = Image.open(p).convert("RGB").resize((224, 224), Image.BILINEAR)
    return (np.asarray(im, dtype=np.float32) / 255.0).transpose(2, 0, 1)
sess.run(["embedding"], {"input": np.stack([load(p) for p in files[:bs]])})
t0 = time.perf_counter()
out = []
for i in range(0, len(files), bs):
    out.append(sess.run(["embedding"], {"input": np.stack([load(p) for p in files[i:i + bs]])})[0])
seconds = time.perf_counter() - t0
batches = [np.stack([load(p) for p in files[i:i + bs]]) for i in range(0, len(files), bs)]
t1 = time.perf_counter()
for b in batches: sess.run(["embedding"], {"input": b})
inference = time.perf_counter() - t1
v = np.concatenate(out)
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "output": {"inference": inference, "rows": int(v.shape[0]), "first": v[:4].ravel().tolist()}}))
`], JSON.stringify({ files, batchSize, model: modelPath }), ctx.env),
    );
  }
  const dim = manifest.output.dim;
  // Resizing differs (sharp vs PIL bilinear), so vectors agree closely, not exactly.
  const sims = [0, 1, 2, 3].map((r) => cosine(ours[0].output.first, reference[0].output.first, r * dim, dim));
  const agree = ours[0].output.rows === count && reference[0].output.rows === count && sims.every((s) => s > 0.98);
  if (!agree) console.error(`embeddings disagree: rows ${ours[0].output.rows}/${reference[0].output.rows}, cosine ${sims.join(", ")}`);
  const e2e = median(ours.map((o) => o.seconds));
  const pure = median(ours.map((o) => o.output.inference));
  const pyPure = median(reference.map((o) => o.output.inference));
  return {
    benchmark: `embeddings, default model, files → vectors (brain-ts end to end = ${((100 * pure) / e2e).toFixed(0)}% of its pure inference throughput; Python ${((100 * pyPure) / median(reference.map((o) => o.seconds))).toFixed(0)}%; Python onnxruntime + PIL as reference; min cosine ${Math.min(...sims).toFixed(4)})`,
    size: `${count} JPEGs 500×375, batch ${batchSize}, ${ours[0].output.decodeThreads} decode thread(s)`,
    ours: { seconds: e2e, peakRssMb: Math.max(...ours.map((o) => o.peakRssMb)) },
    reference: { seconds: median(reference.map((o) => o.seconds)), peakRssMb: Math.max(...reference.map((o) => o.peakRssMb)) },
    agree,
  };
}
