import { knnSearch } from "../../src/index/exactKnn";
import { convolutionSize, linearConvolution2d } from "../../src/methods/visualization/fft";
import { FftRepulsion } from "../../src/methods/visualization/fftRepulsion";
import { seededRandom } from "../../src/methods/visualization/random";
import { BarnesHutRepulsion, tsne, tsneNeighborCount } from "../../src/methods/visualization/tsne";

jest.setTimeout(60_000);

const random = seededRandom(11);

/** Σⱼ≠ᵢ qᵢⱼ² (yᵢ − yⱼ) and Z = Σᵢ≠ⱼ qᵢⱼ over all pairs. */
function exactRepulsion(y: Float64Array, n: number): { neg: Float64Array; z: number } {
  const neg = new Float64Array(2 * n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d0 = y[2 * i] - y[2 * j], d1 = y[2 * i + 1] - y[2 * j + 1];
      const q = 1 / (1 + d0 * d0 + d1 * d1);
      z += q;
      neg[2 * i] += q * q * d0;
      neg[2 * i + 1] += q * q * d1;
    }
  }
  return { neg, z };
}

/** Relative errors of Z and of the force field (Frobenius norm over all points). */
function errors(approx: { neg: Float64Array; z: number }, exact: { neg: Float64Array; z: number }): { z: number; force: number } {
  let e = 0, m = 0;
  for (let t = 0; t < exact.neg.length; t++) {
    e += (approx.neg[t] - exact.neg[t]) ** 2;
    m += exact.neg[t] ** 2;
  }
  return { z: Math.abs(approx.z - exact.z) / exact.z, force: Math.sqrt(e / m) };
}

function fftRepulsion(y: Float64Array, n: number, maxBoxWidth?: number): { neg: Float64Array; z: number; boxWidth: number } {
  const repulsion = new FftRepulsion(n, { maxBoxWidth });
  const neg = new Float64Array(2 * n);
  const z = repulsion.compute(y, neg);
  return { neg, z, boxWidth: repulsion.lastGrid.boxWidth };
}

/** 300 points: uniform over a 30 × 30 square, or three Gaussian blobs (σ = 2) 12 from the origin. */
function layout(kind: "uniform" | "clusters"): Float64Array {
  const random = seededRandom(kind === "uniform" ? 5 : 6);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const y = new Float64Array(600);
  for (let i = 0; i < 300; i++) {
    if (kind === "uniform") {
      y[2 * i] = 30 * random() - 15;
      y[2 * i + 1] = 30 * random() - 15;
    } else {
      const c = i % 3;
      y[2 * i] = 12 * Math.cos(2 * c) + 2 * gauss();
      y[2 * i + 1] = 12 * Math.sin(2 * c) + 2 * gauss();
    }
  }
  return y;
}

describe("2-D FFT convolution", () => {
  it("equals the direct sum on random grids of several sizes (both stage parities, with and without padding savings)", () => {
    for (const n of [1, 2, 3, 5, 8, 13, 16, 33]) {
      const signal = Float64Array.from({ length: n * n }, () => random() - 0.5);
      const a = 0.1 + random(), b = random();
      const kernel = (du: number, dv: number) => 1 / (1 + a * (du * du + dv * dv)) + b * Math.cos(du) * Math.cos(0.5 * dv);
      const out = linearConvolution2d(signal, n, kernel);
      let worst = 0, scale = 0;
      for (let v = 0; v < n; v++) {
        for (let u = 0; u < n; u++) {
          let direct = 0;
          for (let v2 = 0; v2 < n; v2++) for (let u2 = 0; u2 < n; u2++) direct += signal[v2 * n + u2] * kernel(u - u2, v - v2);
          worst = Math.max(worst, Math.abs(direct - out[v * n + u]));
          scale = Math.max(scale, Math.abs(direct));
        }
      }
      expect(worst / scale).toBeLessThan(1e-9);
    }
    expect([1, 2, 3, 16, 17].map(convolutionSize)).toEqual([2, 4, 8, 32, 64]);
  });
});

describe("FFT repulsion", () => {
  it.each(["uniform", "clusters"] as const)("matches the exact O(n²) forces and Z on %s points, converging as the box width cubed", (kind) => {
    const y = layout(kind);
    const exact = exactRepulsion(y, 300);
    // Fine boxes (width 0.126 over this spread): measured force error 1.4e-4 (uniform) and
    // 6.1e-5 (clusters), Z within 2e-7.
    const fine = errors(fftRepulsion(y, 300, 0.15), exact);
    expect(fine.force).toBeLessThan(1e-3);
    expect(fine.z).toBeLessThan(1e-5);
    // Quadratic interpolation: halving the boxes cuts the error about eightfold.
    const coarse = fftRepulsion(y, 300, 0.6);
    const finer = fftRepulsion(y, 300, 0.3);
    expect(finer.boxWidth).toBeCloseTo(coarse.boxWidth / 2, 12);
    expect(errors(coarse, exact).force / errors(finer, exact).force).toBeGreaterThan(6);
    // The defaults t-SNE runs with (width 1.05 here): measured 8.4% / 4.4% on the forces and
    // 6.1e-4 / 3.8e-4 on Z (Barnes–Hut at θ = 0.5: 1.7% / 1.3% and 8.2e-3 / 4.5e-3).
    const usual = errors(fftRepulsion(y, 300), exact);
    expect(usual.force).toBeLessThan(0.1);
    expect(usual.z).toBeLessThan(1e-3);
    const bhNeg = new Float64Array(600);
    const bh = errors({ neg: bhNeg, z: new BarnesHutRepulsion(300, 2, 0.5).compute(y, bhNeg) }, exact);
    expect(usual.z).toBeLessThan(bh.z);
  });

  it("is exact for coincident points and translation invariant", () => {
    // All points at one place: no force, Z = n(n − 1).
    const same = new Float64Array(200).fill(3.25);
    const r = fftRepulsion(same, 100);
    expect(r.z).toBeCloseTo(100 * 99, 6);
    expect(r.neg.every((v) => Math.abs(v) < 1e-9)).toBe(true);
    // Shifting the layout moves the grid with it: the same forces.
    const y = layout("clusters");
    const shifted = y.map((v, t) => v + (t % 2 === 0 ? 1000 : -500));
    const a = fftRepulsion(y, 300);
    const b = fftRepulsion(shifted, 300);
    expect(b.z).toBeCloseTo(a.z, 6);
    for (let t = 0; t < 600; t++) expect(b.neg[t]).toBeCloseTo(a.neg[t], 6);
    // One instance reused (as t-SNE does, with grids of the same or another size in
    // between) gives exactly what a fresh one gives.
    const reused = new FftRepulsion(300);
    const neg = new Float64Array(600);
    const spread = y.map((v) => v * 3);
    for (const other of [layout("uniform"), spread, y]) reused.compute(other, neg);
    const z = reused.compute(y, neg);
    expect(z).toBe(a.z);
    expect(Array.from(neg)).toEqual(Array.from(a.neg));
  });
});

describe("t-SNE with the FFT repulsion", () => {
  // Three well separated blobs of 50 points in 10 dimensions (as the Barnes–Hut tests use).
  const dim = 10;
  const blobRandom = seededRandom(1);
  const g = () => Math.sqrt(-2 * Math.log(1 - blobRandom())) * Math.cos(2 * Math.PI * blobRandom());
  const centres = Array.from({ length: 3 }, () => Array.from({ length: dim }, () => g() * 10));
  const n = 150;
  const x = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    labels.push(i % 3);
    for (let d = 0; d < dim; d++) x[i * dim + d] = centres[i % 3][d] + g();
  }
  const self = Int32Array.from({ length: n }, (_, i) => i);
  const options = { numDims: 2, perplexity: 15, learningRate: 200, negativeGradient: "fft" as const };

  it("keeps clusters apart and stays compact", async () => {
    const nn = await knnSearch(x, x, dim, tsneNeighborCount(n, 15), "euclidean", { selfIndex: self });
    const points = await tsne(x, n, dim, nn, { ...options, maxIters: 600 });
    expect(points.every(Number.isFinite)).toBe(true);
    const layoutNn = await knnSearch(points, points, 2, 5, "euclidean", { selfIndex: self });
    let same = 0;
    for (let i = 0; i < n; i++) for (let t = 0; t < 5; t++) if (labels[layoutNn.indices[i * 5 + t]] === labels[i]) same++;
    expect(same / (n * 5)).toBeGreaterThan(0.98);
    // No point flung far from the rest (Barnes–Hut spans about 70 here).
    let span = 0;
    for (let c = 0; c < 2; c++) {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < n; i++) {
        lo = Math.min(lo, points[2 * i + c]);
        hi = Math.max(hi, points[2 * i + c]);
      }
      span = Math.max(span, hi - lo);
    }
    expect(span).toBeLessThan(150);
  });

  it("is deterministic, the 2-D default from 3000 points, Barnes–Hut below and in 3-D, and refuses the FFT in 3-D", async () => {
    const nn = await knnSearch(x, x, dim, tsneNeighborCount(n, 15), "euclidean", { selfIndex: self });
    // 300 iterations: through early exaggeration and into the final phase
    const short = { numDims: 2, perplexity: 15, learningRate: 200, maxIters: 300 };
    const fft = await tsne(x, n, dim, nn, { ...short, negativeGradient: "fft" });
    expect(Array.from(await tsne(x, n, dim, nn, { ...short, negativeGradient: "fft" }))).toEqual(Array.from(fft));
    const byDefault = await tsne(x, n, dim, nn, short);
    expect(Array.from(byDefault)).toEqual(Array.from(await tsne(x, n, dim, nn, { ...short, negativeGradient: "bh" })));
    expect(Array.from(byDefault)).not.toEqual(Array.from(fft));
    await expect(tsne(x, n, dim, nn, { ...short, numDims: 3, negativeGradient: "fft" })).rejects.toThrow(/2-D only/);
    await expect(tsne(x, n, dim, nn, { ...short, fftMaxBoxWidth: 0 })).rejects.toThrow(/box width/);

    const big = 3000;
    const xb = new Float32Array(big * 4).map(() => blobRandom());
    const selfBig = Int32Array.from({ length: big }, (_, i) => i);
    const nnBig = await knnSearch(xb, xb, 4, tsneNeighborCount(big, 30), "euclidean", { selfIndex: selfBig });
    const few = { numDims: 2, perplexity: 30, learningRate: 200, maxIters: 3 };
    const bigDefault = await tsne(xb, big, 4, nnBig, few);
    expect(Array.from(bigDefault)).toEqual(Array.from(await tsne(xb, big, 4, nnBig, { ...few, negativeGradient: "fft" })));
    expect(Array.from(bigDefault)).not.toEqual(Array.from(await tsne(xb, big, 4, nnBig, { ...few, negativeGradient: "bh" })));
  });
});
