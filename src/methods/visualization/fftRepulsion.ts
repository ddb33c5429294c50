import { circulantKernel, convolutionSize, Fft } from "./fft";

/**
 * t-SNE's repulsion in 2-D by polynomial interpolation on a grid and FFT convolution
 * (the interpolation-based scheme of Linderman et al., Nature Methods 2019). For every
 * point i it gives Σⱼ qᵢⱼ² (yᵢ − yⱼ) and the normaliser Z = Σᵢ≠ⱼ qᵢⱼ, qᵢⱼ = 1 / (1 + ‖yᵢ − yⱼ‖²),
 * in O(n + G² log G) for a G × G grid instead of O(n²).
 *
 * The points' bounding square is cut into B × B equal boxes; each box has 3 equispaced
 * interpolation nodes per dimension, at its two edges and its middle, so neighbouring
 * boxes share their edge nodes and the nodes form one uniform (2B+1)² grid (edge nodes
 * make the piecewise-quadratic interpolant continuous, and for the same node spacing
 * its error bound is about five times smaller than with nodes inside each box). Each point spreads its charges (1, y₁, y₂)
 * onto its box's 3 × 3 nodes with the Lagrange weights; the node charges are convolved
 * with the kernels q and q² over the node grid by FFT on a zero-padded power-of-two grid
 * (an exact discrete convolution); the node potentials are interpolated back with the same
 * weights. Then Σⱼ≠ᵢ qᵢⱼ = φ_q[1](i) minus the point's own term as interpolated, and the
 * force is yᵢ·φ_q²[1](i) − φ_q²[y](i) (where the own term cancels exactly). The charge 1 is transformed once and multiplied by the
 * transform of q + i·q² (both kernels are even, so their transforms are real); the charges
 * y₁ + i·y₂ share one complex transform with q²: four 2-D FFTs per evaluation.
 *
 * Accuracy is set by the box width: at most `maxBoxWidth` (DEFAULT_MAX_BOX_WIDTH), and
 * less when the padded grid has room for more boxes at no extra FFT cost; at least
 * `minBoxes` (15) boxes per side. The width is rounded up to a quarter-octave step so
 * that the kernels' transforms, which depend only on the grid size and the node spacing,
 * repeat across iterations and are cached (the last two).
 */
export interface FftRepulsionOptions {
  /** Largest box width in embedding units. */
  maxBoxWidth?: number;
  /**
   * Fewest boxes per dimension (when the points span less than that many `maxBoxWidth`s):
   * 15 is the 64-point padded grid, well under a millisecond, and on a layout that small
   * (the first iterations) the interpolation is already exact to about 1e-13.
   */
  minBoxes?: number;
}

interface KernelTransforms {
  /** Transform of q on the node grid (real, divided by m² so the inverse needs no scaling). */
  q: Float64Array;
  /** Transform of q². */
  q2: Float64Array;
}

const WIDTH_STEPS_PER_OCTAVE = 4;
/**
 * Boxes at most 1.25 wide: there the force's relative error on clustered layouts is about
 * 5–10% (the kernels fall by 2.5–5× across a box and the quadratic interpolant misses
 * their peak at distance 0); at twice that width it reaches 30–40% and a few points get
 * flung out of small layouts. 10 000 MNIST digits end up spanning about 140, i.e. a
 * 512-point padded grid.
 */
export const DEFAULT_MAX_BOX_WIDTH = 1.25;
/** Largest padded grid (8 MB per array): an outlier far out widens the boxes rather than grow the grid without bound. */
const MAX_GRID_SIZE = 1024;
const CACHED_KERNELS = 2;

export class FftRepulsion {
  private readonly maxBoxWidth: number;
  private readonly minBoxes: number;
  private readonly ffts = new Map<number, Fft>();
  private readonly kernels = new Map<string, KernelTransforms>();
  /** Per point: flat index of its box's first node, and the 3 + 3 Lagrange weights. */
  private readonly base: Int32Array;
  private readonly weights: Float64Array;
  private capacity = 0;
  private aRe = new Float64Array(0);
  private aIm = new Float64Array(0);
  private bRe = new Float64Array(0);
  private bIm = new Float64Array(0);
  /** Grid of the last evaluation (for tests and profiling). */
  lastGrid = { boxes: 0, boxWidth: 0, size: 0 };

  constructor(private readonly n: number, options: FftRepulsionOptions = {}) {
    this.maxBoxWidth = options.maxBoxWidth ?? DEFAULT_MAX_BOX_WIDTH;
    this.minBoxes = options.minBoxes ?? 15;
    this.base = new Int32Array(n);
    this.weights = new Float64Array(6 * n);
  }

  /** Writes Σⱼ qᵢⱼ² (yᵢ − yⱼ) into `neg` (n × 2) and returns Z = Σᵢ≠ⱼ qᵢⱼ. */
  compute(y: Float64Array, neg: Float64Array): number {
    const n = this.n;
    let lo0 = Infinity, hi0 = -Infinity, lo1 = Infinity, hi1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = y[2 * i], b = y[2 * i + 1];
      if (a < lo0) lo0 = a;
      if (a > hi0) hi0 = a;
      if (b < lo1) lo1 = b;
      if (b > hi1) hi1 = b;
    }
    const span = Math.max(hi0 - lo0, hi1 - lo1, 1e-12);
    // Boxes: enough for the width limit, then as many as the padded grid holds
    // (2B + 1 nodes need a padded size m ≥ 4B + 1).
    const wanted = Math.max(this.minBoxes, Math.ceil(span / this.maxBoxWidth));
    const m = Math.min(convolutionSize(2 * wanted + 1), MAX_GRID_SIZE);
    const boxes = (m >> 2) - 1;
    const exact = span / boxes;
    const boxWidth = this.maxBoxWidth * 2 ** (Math.ceil(WIDTH_STEPS_PER_OCTAVE * Math.log2(exact / this.maxBoxWidth)) / WIDTH_STEPS_PER_OCTAVE);
    const nodes = 2 * boxes + 1;
    const spacing = boxWidth / 2;
    this.lastGrid = { boxes, boxWidth, size: m };
    const origin0 = (lo0 + hi0) / 2 - (boxes * boxWidth) / 2;
    const origin1 = (lo1 + hi1) / 2 - (boxes * boxWidth) / 2;

    this.ensureBuffers(m);
    const { aRe, aIm, bRe, bIm, base, weights } = this;
    const cells = m * m;
    // Only the first m/2 rows need clearing, and of the rows the row pass transforms only
    // the first half: the forward transform's first stages write the rest without reading it.
    const half = m >> 1;
    for (let r = 0; r < half; r++) {
      const end = r * m + (r < nodes ? half : m);
      aRe.fill(0, r * m, end);
      aIm.fill(0, r * m, end);
      bRe.fill(0, r * m, end);
      bIm.fill(0, r * m, end);
    }

    // Spread: charge 1 into a, y₁ + i·y₂ into b, the coordinates taken from the grid's
    // centre so that yᵢ·φ − φ[y] below does not cancel large offsets.
    const invWidth = 1 / boxWidth;
    const centre0 = (lo0 + hi0) / 2, centre1 = (lo1 + hi1) / 2;
    for (let i = 0; i < n; i++) {
      const y0 = y[2 * i] - centre0, y1 = y[2 * i + 1] - centre1;
      const s = (y[2 * i] - origin0) * invWidth;
      const t = (y[2 * i + 1] - origin1) * invWidth;
      let bs = Math.floor(s), bt = Math.floor(t);
      if (bs < 0) bs = 0; else if (bs >= boxes) bs = boxes - 1;
      if (bt < 0) bt = 0; else if (bt >= boxes) bt = boxes - 1;
      const fs = s - bs, ft = t - bt;
      // Lagrange basis on the nodes at 0, ½, 1 of the box
      const s0 = 2 * (fs - 0.5) * (fs - 1), s1 = -4 * fs * (fs - 1), s2 = 2 * fs * (fs - 0.5);
      const t0 = 2 * (ft - 0.5) * (ft - 1), t1 = -4 * ft * (ft - 1), t2 = 2 * ft * (ft - 0.5);
      const w = 6 * i;
      weights[w] = s0; weights[w + 1] = s1; weights[w + 2] = s2;
      weights[w + 3] = t0; weights[w + 4] = t1; weights[w + 5] = t2;
      const first = 2 * bt * m + 2 * bs;
      base[i] = first;
      for (let r = 0; r < 3; r++) {
        const tr = r === 0 ? t0 : r === 1 ? t1 : t2;
        const row = first + r * m;
        const c0 = s0 * tr, c1 = s1 * tr, c2 = s2 * tr;
        aRe[row] += c0; aRe[row + 1] += c1; aRe[row + 2] += c2;
        bRe[row] += c0 * y0; bRe[row + 1] += c1 * y0; bRe[row + 2] += c2 * y0;
        bIm[row] += c0 * y1; bIm[row + 1] += c1 * y1; bIm[row + 2] += c2 * y1;
      }
    }

    const fft = this.fft(m);
    const kernel = this.kernel(m, spacing);
    fft.forward2d(aRe, aIm, nodes);
    fft.forward2d(bRe, bIm, nodes);
    const { q, q2 } = kernel;
    for (let t = 0; t < cells; t++) {
      const k1 = q[t], k2 = q2[t];
      const ar = aRe[t], ai = aIm[t];
      aRe[t] = ar * k1 - ai * k2;
      aIm[t] = ar * k2 + ai * k1;
      bRe[t] *= k2;
      bIm[t] *= k2;
    }
    fft.inverse2d(aRe, aIm, nodes);
    fft.inverse2d(bRe, bIm, nodes);

    // Gather: a holds (Σ q, Σ q²), b holds (Σ q² y₁, Σ q² y₂) at the nodes. Each point's
    // own term is removed from Σ q as the interpolation sees it, so that its error (large
    // when boxes are wide: q peaks at distance 0) does not bias Z.
    const h2 = spacing * spacing;
    const k00 = 1, k01 = 2 / (1 + h2), k02 = 2 / (1 + 4 * h2), k11 = 4 / (1 + 2 * h2), k12 = 4 / (1 + 5 * h2), k22 = 4 / (1 + 8 * h2);
    let sumQ = 0;
    for (let i = 0; i < n; i++) {
      const w = 6 * i;
      const s0 = weights[w], s1 = weights[w + 1], s2 = weights[w + 2];
      let pq = 0, pq2 = 0, p0 = 0, p1 = 0;
      for (let r = 0; r < 3; r++) {
        const tr = weights[w + 3 + r];
        const row = base[i] + r * m;
        const c0 = s0 * tr, c1 = s1 * tr, c2 = s2 * tr;
        pq += c0 * aRe[row] + c1 * aRe[row + 1] + c2 * aRe[row + 2];
        pq2 += c0 * aIm[row] + c1 * aIm[row + 1] + c2 * aIm[row + 2];
        p0 += c0 * bRe[row] + c1 * bRe[row + 1] + c2 * bRe[row + 2];
        p1 += c0 * bIm[row] + c1 * bIm[row + 1] + c2 * bIm[row + 2];
      }
      // Σ over node pairs of both points' weights times q between the nodes, by node offset
      const x0 = s0 * s0 + s1 * s1 + s2 * s2, x1 = s0 * s1 + s1 * s2, x2 = s0 * s2;
      const ta = weights[w + 3], tb = weights[w + 4], tc = weights[w + 5];
      const e0 = ta * ta + tb * tb + tc * tc, e1 = ta * tb + tb * tc, e2 = ta * tc;
      const self = x0 * (k00 * e0 + k01 * e1 + k02 * e2) + x1 * (k01 * e0 + k11 * e1 + k12 * e2) + x2 * (k02 * e0 + k12 * e1 + k22 * e2);
      sumQ += pq - self;
      neg[2 * i] = (y[2 * i] - centre0) * pq2 - p0;
      neg[2 * i + 1] = (y[2 * i + 1] - centre1) * pq2 - p1;
    }
    return sumQ;
  }

  private ensureBuffers(m: number): void {
    if (m * m <= this.capacity) return;
    this.capacity = m * m;
    this.aRe = new Float64Array(this.capacity);
    this.aIm = new Float64Array(this.capacity);
    this.bRe = new Float64Array(this.capacity);
    this.bIm = new Float64Array(this.capacity);
  }

  private fft(m: number): Fft {
    let fft = this.ffts.get(m);
    if (!fft) this.ffts.set(m, (fft = new Fft(m)));
    return fft;
  }

  /** Transforms of q and q² on an m × m padded grid with the given node spacing (cached). */
  private kernel(m: number, spacing: number): KernelTransforms {
    const key = `${m}:${spacing}`;
    const hit = this.kernels.get(key);
    if (hit) return hit;
    // q + i·q² in one complex transform: both are even, so the real part is q's transform
    // and the imaginary part q²'s.
    const re = circulantKernel(m, (du, dv) => 1 / (1 + spacing * spacing * (du * du + dv * dv)), 1 / (m * m));
    const im = circulantKernel(m, (du, dv) => (1 / (1 + spacing * spacing * (du * du + dv * dv))) ** 2, 1 / (m * m));
    this.fft(m).forward2d(re, im);
    const entry = { q: re, q2: im };
    if (this.kernels.size >= CACHED_KERNELS) this.kernels.delete(this.kernels.keys().next().value as string);
    this.kernels.set(key, entry);
    return entry;
  }
}
