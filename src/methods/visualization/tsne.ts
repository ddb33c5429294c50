import { yieldToEventLoop } from "../eventLoop";
import { BrainError } from "../../errors";
import type { KnnResult } from "../../index/exactKnn";
import { FftRepulsion } from "./fftRepulsion";
import { fitPca, projectPca } from "./pca";

/**
 * t-SNE with the optimisation schedule of scikit-learn's
 * `TSNE(method="barnes_hut")`, which the reference calls: input similarities from each
 * point's ⌊3·perplexity⌋ + 1 nearest neighbours (squared Euclidean distances, a binary
 * search on the Gaussian precision per point to the wanted perplexity, then symmetrised
 * and normalised), PCA initialisation scaled to a first-coordinate standard deviation of
 * 1e-4, early exaggeration 12 with momentum 0.5 for 250 iterations then momentum 0.8,
 * per-coordinate adaptive gains (+0.2 / ×0.8, at least 0.01), gradient 4·(attraction −
 * repulsion / Z). The attraction is the exact sum over the sparse P. The repulsion
 * (`negativeGradient`) is either Barnes–Hut (van der Maaten 2014: a 2^d-tree, quadtree or
 * octree, with the opening angle θ = 0.5; O(n log n) per iteration) or, in 2-D only,
 * interpolated on a grid and convolved by FFT (fftRepulsion.ts; O(n) plus FFTs of a grid
 * that grows with the layout's extent, not with n). The default is the FFT in 2-D from
 * FFT_MIN_POINTS points and Barnes–Hut otherwise: the grid costs the same whatever n, so
 * at 2 000 MNIST digits Barnes–Hut is as fast (and its 10-NN recall 0.496 against 0.492),
 * while at 5 000 the FFT's iterations are 2.3× faster at equal recall (0.448) and at
 * 10 000 2.8× (recall 0.427 against 0.428).
 * Memory O(n·k).
 *
 * Deterministic: the initialisation is exact PCA (see pca.ts), and nothing is sampled,
 * so the same input gives the same points (the seed the reference passes only affects
 * its randomized PCA). Iterations run to `maxIters` (no early stop on progress).
 */
export interface TsneOptions {
  numDims: number;
  perplexity: number;
  learningRate: number;
  maxIters: number;
  earlyExaggeration?: number;
  explorationIters?: number;
  theta?: number;
  /** How the repulsion is computed: "fft" (2-D only; the default there from FFT_MIN_POINTS points) or "bh" (Barnes–Hut). */
  negativeGradient?: "fft" | "bh";
  /** The FFT repulsion's largest interpolation box width (see fftRepulsion.ts). */
  fftMaxBoxWidth?: number;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

/** From this many points a 2-D t-SNE uses the FFT repulsion by default (between the sizes measured above). */
export const FFT_MIN_POINTS = 3000;

export const TSNE_DEFAULTS = { perplexity: 30, learningRate: 200, maxIters: 1000, earlyExaggeration: 12, explorationIters: 250, theta: 0.5 };

/**
 * scikit-learn's `learning_rate="auto"` (which the reference passes through):
 * max(n / early_exaggeration / 4, 50). The fixed default, 200, under-converges large sets
 * (at 70 000 points: 86% of openTSNE's neighbourhood recall, against 97% with "auto").
 */
export function autoLearningRate(n: number): number {
  return Math.max(n / TSNE_DEFAULTS.earlyExaggeration / 4, 50);
}

/** The number of neighbours the input similarities use (scikit-learn's rule). */
export function tsneNeighborCount(n: number, perplexity: number): number {
  return Math.min(n - 1, Math.floor(3 * perplexity + 1));
}

export function checkTsneInput(n: number, perplexity: number): void {
  if (!(perplexity > 0)) throw new BrainError("INVALID_PARAMS", `perplexity must be positive; got ${perplexity}`);
  if (perplexity >= n) {
    throw new BrainError("INVALID_DATA", `t-SNE's perplexity (${perplexity}) must be less than the number of samples with embeddings (${n}); lower the perplexity`);
  }
}

/** t-SNE points (n × numDims) from the input vectors (used for the PCA initialisation) and their neighbours. */
export async function tsne(vectors: Float32Array, n: number, dim: number, neighbors: KnnResult, options: TsneOptions): Promise<Float32Array> {
  const o = { ...TSNE_DEFAULTS, ...options };
  const nd = o.numDims;
  if (nd !== 2 && nd !== 3) throw new BrainError("INVALID_PARAMS", `num_dims must be 2 or 3; got ${nd}`);
  checkTsneInput(n, o.perplexity);
  if (neighbors.indices.length !== n * neighbors.k) throw new BrainError("INTERNAL", "t-SNE needs the neighbours of every point");
  if (dim < nd) throw new BrainError("INVALID_DATA", `t-SNE to ${nd} dimensions needs embeddings of at least ${nd} dimensions (these have ${dim})`);
  const method = o.negativeGradient ?? (nd === 2 && n >= FFT_MIN_POINTS ? "fft" : "bh");
  if (method !== "fft" && method !== "bh") throw new BrainError("INVALID_PARAMS", `t-SNE's negative gradient method must be "fft" or "bh"; got ${JSON.stringify(method)}`);
  if (method === "fft" && nd !== 2) throw new BrainError("INVALID_PARAMS", `t-SNE's FFT repulsion works in 2-D only; use negativeGradient "bh" for num_dims = ${nd}`);
  if (o.fftMaxBoxWidth !== undefined && !(o.fftMaxBoxWidth > 0 && Number.isFinite(o.fftMaxBoxWidth))) {
    throw new BrainError("INVALID_PARAMS", `t-SNE's FFT box width must be a positive number; got ${o.fftMaxBoxWidth}`);
  }
  const P = jointProbabilities(neighbors, o.perplexity);

  const y = new Float64Array(n * nd);
  const init = await projectPca(await fitPca(vectors, n, dim, nd, o.signal), vectors, n);
  let m0 = 0;
  for (let i = 0; i < n; i++) m0 += init[i * nd];
  m0 /= n;
  let v0 = 0;
  for (let i = 0; i < n; i++) v0 += (init[i * nd] - m0) ** 2;
  const std = Math.sqrt(v0 / n) || 1;
  for (let t = 0; t < n * nd; t++) y[t] = (Math.fround(init[t]) / std) * 1e-4;

  const update = new Float64Array(n * nd);
  const gains = new Float64Array(n * nd).fill(1);
  const grad = new Float64Array(n * nd);
  const neg = new Float64Array(n * nd);
  const repulsion: Repulsion = method === "fft" ? new FftRepulsion(n, { maxBoxWidth: o.fftMaxBoxWidth }) : new BarnesHutRepulsion(n, nd, o.theta);
  for (let iter = 0; iter < o.maxIters; iter++) {
    if ((iter & 15) === 0) {
      await yieldToEventLoop();
      o.signal?.throwIfAborted();
      o.progress?.(iter / o.maxIters);
    }
    const exploring = iter < o.explorationIters;
    gradient(P, y, n, nd, exploring ? o.earlyExaggeration : 1, repulsion, neg, grad);
    const momentum = exploring ? 0.5 : 0.8;
    for (let t = 0; t < n * nd; t++) {
      const g = grad[t];
      gains[t] = update[t] * g < 0 ? gains[t] + 0.2 : Math.max(gains[t] * 0.8, 0.01);
      update[t] = momentum * update[t] - o.learningRate * gains[t] * g;
      y[t] += update[t];
    }
  }
  o.progress?.(1);
  return Float32Array.from(y);
}

/** Symmetric sparse P (CSR), summing to 1. */
interface SparseP {
  offsets: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

export function conditionalProbabilities(neighbors: KnnResult, perplexity: number): Float64Array {
  const { k, distances } = neighbors;
  const n = distances.length / k;
  const out = new Float64Array(n * k);
  const desired = Math.log(perplexity);
  const d2 = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) d2[j] = distances[i * k + j] ** 2;
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    const p = out.subarray(i * k, (i + 1) * k);
    for (let step = 0; step < 100; step++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += (p[j] = Math.exp(-d2[j] * beta));
      if (sum === 0) sum = 1e-8;
      let weighted = 0;
      for (let j = 0; j < k; j++) {
        p[j] /= sum;
        weighted += d2[j] * p[j];
      }
      const diff = Math.log(sum) + beta * weighted - desired;
      if (Math.abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return out;
}

/** P = (P_cond + P_condᵀ) / sum, built directly in CSR (row buckets, then each row sorted and merged). */
function jointProbabilities(neighbors: KnnResult, perplexity: number): SparseP {
  const { k, indices } = neighbors;
  const n = indices.length / k;
  const cond = conditionalProbabilities(neighbors, perplexity);
  const rowStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      rowStart[i + 1]++;
      rowStart[indices[i * k + t] + 1]++;
    }
  }
  for (let i = 0; i < n; i++) rowStart[i + 1] += rowStart[i];
  const fill = rowStart.slice(0, n);
  const rawCols = new Int32Array(rowStart[n]);
  const rawVals = new Float64Array(rowStart[n]);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t];
      const v = cond[i * k + t];
      rawCols[fill[i]] = j;
      rawVals[fill[i]++] = v;
      rawCols[fill[j]] = i;
      rawVals[fill[j]++] = v;
    }
  }
  const offsets = new Int32Array(n + 1);
  const cols = new Int32Array(rowStart[n]);
  const vals = new Float64Array(rowStart[n]);
  let at = 0;
  let total = 0;
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    order.length = 0;
    for (let e = rowStart[i]; e < rowStart[i + 1]; e++) order.push(e);
    order.sort((a, b) => rawCols[a] - rawCols[b]);
    for (let m = 0; m < order.length; m++) {
      const e = order[m];
      if (rawVals[e] === 0) continue;
      if (at > offsets[i] && cols[at - 1] === rawCols[e]) vals[at - 1] += rawVals[e];
      else {
        cols[at] = rawCols[e];
        vals[at++] = rawVals[e];
      }
      total += rawVals[e];
    }
    offsets[i + 1] = at;
  }
  total = Math.max(total, Number.EPSILON);
  const outVals = vals.slice(0, at);
  for (let t = 0; t < at; t++) outVals[t] /= total;
  return { offsets, cols: cols.slice(0, at), vals: outVals };
}

/** Repulsion for every point: writes Σⱼ qᵢⱼ² (yᵢ − yⱼ) into `neg` (n × nd) and returns Z = Σᵢ≠ⱼ qᵢⱼ. */
export interface Repulsion {
  compute(y: Float64Array, neg: Float64Array): number;
}

/** Barnes–Hut repulsion: each point against the cells of a 2^d-tree that look small enough from it. */
export class BarnesHutRepulsion implements Repulsion {
  private readonly tree: SpaceTree;
  private readonly one: Float64Array;

  constructor(private readonly n: number, private readonly nd: number, private readonly theta: number) {
    this.tree = new SpaceTree(n, nd);
    this.one = new Float64Array(nd);
  }

  compute(y: Float64Array, neg: Float64Array): number {
    const { n, nd, tree, one } = this;
    tree.build(y);
    tree.finish();
    let sumQ = 0;
    for (let i = 0; i < n; i++) {
      one.fill(0);
      sumQ += tree.repulsion(i, y, this.theta, one);
      for (let c = 0; c < nd; c++) neg[i * nd + c] = one[c];
    }
    return sumQ;
  }
}

function gradient(P: SparseP, y: Float64Array, n: number, nd: number, exaggeration: number, repulsion: Repulsion, neg: Float64Array, grad: Float64Array): void {
  // Repulsion first (it needs Z = ΣQ over all pairs before it can be normalised).
  const sumQ = repulsion.compute(y, neg);
  const invZ = 1 / Math.max(sumQ, Number.MIN_VALUE);
  const { offsets, cols, vals } = P;
  if (nd === 2) {
    for (let i = 0; i < n; i++) {
      const yi0 = y[2 * i], yi1 = y[2 * i + 1];
      let g0 = -neg[2 * i] * invZ;
      let g1 = -neg[2 * i + 1] * invZ;
      for (let t = offsets[i]; t < offsets[i + 1]; t++) {
        const j = cols[t];
        const d0 = yi0 - y[2 * j], d1 = yi1 - y[2 * j + 1];
        const w = (exaggeration * vals[t]) / (1 + (d0 * d0 + d1 * d1));
        g0 += w * d0;
        g1 += w * d1;
      }
      grad[2 * i] = g0 * 4;
      grad[2 * i + 1] = g1 * 4;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nd; c++) grad[i * nd + c] = -neg[i * nd + c] * invZ;
    for (let t = offsets[i]; t < offsets[i + 1]; t++) {
      const j = cols[t];
      let d2 = 0;
      for (let c = 0; c < nd; c++) d2 += (y[i * nd + c] - y[j * nd + c]) ** 2;
      const w = (exaggeration * vals[t]) / (1 + d2);
      for (let c = 0; c < nd; c++) grad[i * nd + c] += w * (y[i * nd + c] - y[j * nd + c]);
    }
    for (let c = 0; c < nd; c++) grad[i * nd + c] *= 4;
  }
}

/**
 * A 2^d-tree over the current points (d = 2 or 3) with each cell's point count and centre
 * of mass; rebuilt every iteration into preallocated arrays. Points that coincide (or
 * cells below 1e-12 of the root's width) share a leaf.
 */
class SpaceTree {
  private readonly fanout: number;
  private capacity: number;
  private size = 0;
  private center: Float64Array;
  private half: Float64Array;
  private mass: Float64Array;
  private count: Int32Array;
  private child: Int32Array;
  private point: Int32Array;
  private stack: Int32Array;
  private minHalf = 0;

  constructor(private readonly n: number, private readonly nd: number) {
    this.fanout = 1 << nd;
    this.capacity = Math.max(16, 4 * n);
    this.center = new Float64Array(this.capacity * nd);
    this.half = new Float64Array(this.capacity);
    this.mass = new Float64Array(this.capacity * nd);
    this.count = new Int32Array(this.capacity);
    this.child = new Int32Array(this.capacity);
    this.point = new Int32Array(this.capacity);
    this.stack = new Int32Array(64 * this.fanout + 16);
  }

  build(y: Float64Array): void {
    const { n, nd } = this;
    const lo = new Float64Array(nd).fill(Infinity);
    const hi = new Float64Array(nd).fill(-Infinity);
    for (let i = 0; i < n; i++) for (let c = 0; c < nd; c++) {
      const v = y[i * nd + c];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
    let half = 0;
    for (let c = 0; c < nd; c++) half = Math.max(half, (hi[c] - lo[c]) / 2);
    half = half * (1 + 1e-6) + 1e-12;
    this.minHalf = half * 1e-12;
    this.size = 0;
    const root = this.newNode();
    for (let c = 0; c < nd; c++) this.center[root * nd + c] = (lo[c] + hi[c]) / 2;
    this.half[root] = half;
    for (let i = 0; i < n; i++) this.insert(i, y);
  }

  private newNode(): number {
    if (this.size + this.fanout + 1 > this.capacity) this.grow();
    const id = this.size++;
    this.count[id] = 0;
    this.child[id] = -1;
    this.point[id] = -1;
    for (let c = 0; c < this.nd; c++) this.mass[id * this.nd + c] = 0;
    return id;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const nd = this.nd;
    const grow64 = (a: Float64Array, w: number) => { const b = new Float64Array(cap * w); b.set(a); return b; };
    const grow32 = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.center = grow64(this.center, nd);
    this.mass = grow64(this.mass, nd);
    this.half = grow64(this.half, 1);
    this.count = grow32(this.count);
    this.child = grow32(this.child);
    this.point = grow32(this.point);
    this.capacity = cap;
  }

  private quadrant(node: number, y: Float64Array, p: number): number {
    let q = 0;
    for (let c = 0; c < this.nd; c++) if (y[p * this.nd + c] > this.center[node * this.nd + c]) q |= 1 << c;
    return q;
  }

  private insert(p: number, y: Float64Array): void {
    const nd = this.nd;
    let node = 0;
    for (;;) {
      const count = this.count[node];
      this.count[node] = count + 1;
      for (let c = 0; c < nd; c++) this.mass[node * nd + c] += y[p * nd + c];
      if (this.child[node] < 0) {
        if (count === 0) {
          this.point[node] = p;
          return;
        }
        const q = this.point[node];
        let same = true;
        for (let c = 0; c < nd; c++) if (y[q * nd + c] !== y[p * nd + c]) same = false;
        if (same || this.half[node] < this.minHalf) return;
        // Split: the resident point(s), all at q's position, move to one child.
        const first = this.size;
        for (let t = 0; t < this.fanout; t++) {
          const ch = this.newNode();
          const h = this.half[node] / 2;
          this.half[ch] = h;
          for (let c = 0; c < nd; c++) this.center[ch * nd + c] = this.center[node * nd + c] + ((t >> c) & 1 ? h : -h);
        }
        this.child[node] = first;
        const qc = first + this.quadrant(node, y, q);
        this.count[qc] = count;
        this.point[qc] = q;
        for (let c = 0; c < nd; c++) this.mass[qc * nd + c] = count * y[q * nd + c];
        this.point[node] = -1;
      }
      node = this.child[node] + this.quadrant(node, y, p);
    }
  }

  /** Turns the summed positions into centres of mass; called once after build. */
  finish(): void {
    const nd = this.nd;
    for (let node = 0; node < this.size; node++) {
      const count = this.count[node];
      if (count > 0) for (let c = 0; c < nd; c++) this.mass[node * nd + c] /= count;
    }
  }

  /** Adds Σ q²·(yᵢ − y) over summarised cells to `neg`; returns Σ q (q = 1 / (1 + ‖yᵢ − y‖²)). */
  repulsion(i: number, y: Float64Array, theta: number, neg: Float64Array): number {
    const nd = this.nd;
    const theta2 = theta * theta;
    const { count: counts, child, point, mass: com, half, fanout } = this;
    if (this.stack.length < this.size) this.stack = new Int32Array(this.size);
    const stack = this.stack;
    const y0 = y[i * nd];
    const y1 = y[i * nd + 1];
    const y2 = nd === 3 ? y[i * nd + 2] : 0;
    let n0 = 0, n1 = 0, n2 = 0;
    let sumQ = 0;
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node = stack[--top];
      const count = counts[node];
      if (count === 0) continue;
      const leaf = child[node] < 0;
      const d0 = y0 - com[node * nd];
      const d1 = y1 - com[node * nd + 1];
      const d2c = nd === 3 ? y2 - com[node * nd + 2] : 0;
      const d2 = d0 * d0 + d1 * d1 + d2c * d2c;
      if (leaf && (point[node] === i || d2 === 0)) {
        // the point itself and any coinciding points: distance 0, no force, q = 1 each
        sumQ += count - 1;
        continue;
      }
      const width = 2 * half[node];
      if (leaf || width * width < theta2 * d2) {
        const q = 1 / (1 + d2);
        sumQ += count * q;
        const mult = count * q * q;
        n0 += mult * d0;
        n1 += mult * d1;
        n2 += mult * d2c;
      } else {
        const first = child[node];
        for (let t = 0; t < fanout; t++) if (counts[first + t] > 0) stack[top++] = first + t;
      }
    }
    neg[0] += n0;
    neg[1] += n1;
    if (nd === 3) neg[2] += n2;
    return sumQ;
  }
}
