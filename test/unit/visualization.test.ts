import { knnSearch } from "../../src/index/exactKnn";
import { fitPca, pca } from "../../src/methods/visualization/pca";
import { seededRandom } from "../../src/methods/visualization/random";
import { tsne, tsneNeighborCount } from "../../src/methods/visualization/tsne";
import { umap } from "../../src/methods/visualization/umap";

/** Gaussian blobs: `perCluster` points around `clusters` well separated centres in `dim` dimensions. */
function blobs(clusters: number, perCluster: number, dim: number, seed: number): { x: Float32Array; labels: number[] } {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => gauss() * 10));
  const n = clusters * perCluster;
  const x = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    labels.push(c);
    for (let d = 0; d < dim; d++) x[i * dim + d] = centres[c][d] + gauss();
  }
  return { x, labels };
}

/** Fraction of points whose `k` nearest neighbours in the layout share their label. */
const self = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const neighbours = (x: Float32Array, n: number, dim: number, k: number) => knnSearch(x, x, dim, k, "euclidean", { selfIndex: self(n) });

async function clusterPurity(points: Float32Array, nd: number, labels: number[], k: number): Promise<number> {
  const nn = await neighbours(points, labels.length, nd, k);
  let same = 0;
  for (let i = 0; i < labels.length; i++) for (let t = 0; t < k; t++) if (labels[nn.indices[i * k + t]] === labels[i]) same++;
  return same / (labels.length * k);
}

jest.setTimeout(60_000);

describe("PCA", () => {
  it("reproduces the reference's worked example (spec P.10) with the documented signs", async () => {
    const rows = [[2, 0, 0], [0, 1, 0], [-2, 0, 0], [0, -1, 0], [0, 0, 0.5], [0, 0, -0.5]];
    const model = await fitPca(Float32Array.from(rows.flat()), 6, 3, 2);
    expect(Array.from(model.explainedVariance)).toEqual([expect.closeTo(1.6, 12), expect.closeTo(0.4, 12)]);
    const points = await pca(Float32Array.from(rows.flat()), 6, 3, 2);
    const expected = [2, 0, 0, 1, -2, 0, 0, -1, 0, 0, 0, 0];
    points.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it("recovers a known decomposition above the dense limit, each component's largest coordinate positive", async () => {
    // 400 points = latent coordinates along 4 orthonormal directions of R^100; the latents are
    // exactly uncorrelated, zero-mean cosines, so the covariance is Σ sd²·n/(n−1)·b bᵀ exactly.
    const n = 400;
    const d = 100;
    const random = seededRandom(7);
    const basis: number[][] = [];
    for (let j = 0; j < 4; j++) {
      const v = Array.from({ length: d }, () => random() - 0.5);
      for (const b of basis) {
        const dot = v.reduce((s, x, i) => s + x * b[i], 0);
        b.forEach((x, i) => (v[i] -= dot * x));
      }
      const norm = Math.hypot(...v);
      basis.push(v.map((x) => x / norm));
    }
    const sd = [5, 4, 3, 2];
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const z = sd.map((s, j) => s * Math.SQRT2 * Math.cos((2 * Math.PI * (j + 1) * i) / n));
      for (let c = 0; c < d; c++) x[i * d + c] = z.reduce((acc, zj, j) => acc + zj * basis[j][c], 0);
    }
    const model = await fitPca(x, n, d, 3);
    for (let j = 0; j < 3; j++) {
      const comp = Array.from(model.components.subarray(j * d, (j + 1) * d));
      const dot = comp.reduce((s, v, i) => s + v * basis[j][i], 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 5);
      const biggest = comp.reduce((best, v, i) => (Math.abs(v) > Math.abs(comp[best]) ? i : best), 0);
      expect(comp[biggest]).toBeGreaterThan(0);
    }
    // Exact eigenpairs of the covariance: the variance of the projections equals the eigenvalue.
    const points = await pca(x, n, d, 3);
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += points[i * 3 + j] ** 2;
      expect(s / (n - 1)).toBeCloseTo(model.explainedVariance[j], 3);
      expect(model.explainedVariance[j]).toBeCloseTo((sd[j] ** 2 * n) / (n - 1), 4);
    }
    expect(model.explainedVariance[0]).toBeGreaterThan(model.explainedVariance[1]);
  });

  it("gives the same components on the dense and the subspace paths", async () => {
    const { x } = blobs(4, 30, 64, 3);
    const padded = new Float32Array(120 * 80);
    for (let i = 0; i < 120; i++) padded.set(x.subarray(i * 64, (i + 1) * 64), i * 80);
    const dense = await pca(x, 120, 64, 2);
    const subspace = await pca(padded, 120, 80, 2);
    dense.forEach((v, i) => expect(subspace[i]).toBeCloseTo(v, 3));
  });
});

describe("t-SNE (Barnes–Hut)", () => {
  const { x, labels } = blobs(3, 50, 10, 1);
  const n = labels.length;
  const perplexity = 15;

  it("keeps clusters apart and is deterministic", async () => {
    const nn = await neighbours(x, n, 10, tsneNeighborCount(n, perplexity));
    const options = { numDims: 2, perplexity, learningRate: 200, maxIters: 600 };
    const a = await tsne(x, n, 10, nn, options);
    const b = await tsne(x, n, 10, nn, options);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(await clusterPurity(a, 2, labels, 5)).toBeGreaterThan(0.98);
    expect(a.every(Number.isFinite)).toBe(true);
  });

  it("works in 3-D and refuses other dimensions and too large a perplexity", async () => {
    const nn = await neighbours(x, n, 10, tsneNeighborCount(n, perplexity));
    const p3 = await tsne(x, n, 10, nn, { numDims: 3, perplexity, learningRate: 200, maxIters: 600 });
    expect(p3.length).toBe(n * 3);
    expect(await clusterPurity(p3, 3, labels, 5)).toBeGreaterThan(0.98);
    await expect(tsne(x, n, 10, nn, { numDims: 4, perplexity, learningRate: 200, maxIters: 10 })).rejects.toThrow(/num_dims must be 2 or 3/);
    await expect(tsne(x, n, 10, nn, { numDims: 2, perplexity: 200, learningRate: 200, maxIters: 10 })).rejects.toThrow(/perplexity/);
  });
});

describe("UMAP with precomputed neighbours", () => {
  const { x, labels } = blobs(3, 40, 8, 2);
  const n = labels.length;
  const options = { numDims: 2, numNeighbors: 15, minDist: 0.1, nEpochs: 200 };

  it("gives the same points for the same seed, others for another seed, and keeps clusters", async () => {
    const nn = await neighbours(x, n, 8, 14);
    const a = await umap(x, n, 8, nn, { ...options, seed: 51 });
    const b = await umap(x, n, 8, nn, { ...options, seed: 51 });
    const c = await umap(x, n, 8, nn, { ...options, seed: 52 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(await clusterPurity(a, 2, labels, 5)).toBeGreaterThan(0.98);
  });

  it("can be cancelled while its epochs run (the event loop keeps turning)", async () => {
    const big = blobs(4, 1000, 8, 5);
    const nn = await neighbours(big.x, 4000, 8, 14);
    const abort = new AbortController();
    const seen: number[] = [];
    // A timer set once the epochs have started fires only if the loop yields to the event loop.
    const progress = (f: number) => {
      if (seen.push(f) === 1) setTimeout(() => abort.abort(), 0);
    };
    const run = umap(big.x, 4000, 8, nn, { numDims: 2, numNeighbors: 15, minDist: 0.1, nEpochs: 100_000, seed: 1, signal: abort.signal, progress });
    await expect(run).rejects.toThrow();
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.max(...seen)).toBeLessThan(0.01);
  });

  it("runs an unseeded layout's epochs on worker threads, keeping clusters, and can cancel them", async () => {
    const big = blobs(4, 2500, 8, 6);
    const nn = await neighbours(big.x, 10_000, 8, 14);
    const seen: number[] = [];
    const points = await umap(big.x, 10_000, 8, nn, { numDims: 2, numNeighbors: 15, minDist: 0.1, nEpochs: 200, seed: null, workers: 2, progress: (f) => seen.push(f) });
    expect(points.every(Number.isFinite)).toBe(true);
    expect(await clusterPurity(points, 2, big.labels, 5)).toBeGreaterThan(0.98);
    expect(seen[seen.length - 1]).toBe(1);

    const abort = new AbortController();
    const started = Date.now();
    const progress = (f: number) => {
      if (f > 0) abort.abort();
    };
    await expect(umap(big.x, 10_000, 8, nn, { numDims: 2, numNeighbors: 15, minDist: 0.1, nEpochs: 1_000_000, seed: null, workers: 2, signal: abort.signal, progress })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("refuses fewer samples than neighbours and other dimensions", async () => {
    const nn = await neighbours(x, n, 8, 14);
    const few = x.subarray(0, 10 * 8);
    await expect(umap(few, 10, 8, { ...nn, indices: nn.indices.subarray(0, 140), distances: nn.distances.subarray(0, 140) }, { ...options, seed: 1 })).rejects.toThrow(/needs more than 15 samples/);
    await expect(umap(x, n, 8, nn, { ...options, numDims: 1 })).rejects.toThrow(/num_dims must be 2 or 3/);
  });
});
