import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { BrainError } from "../errors";
import type { SimilarityMetric } from "./similarityIndex";

/**
 * Exact (brute-force) k nearest neighbours over row-major Float32Array matrices.
 *
 * The work is one matrix product per block of queries followed by a partial sort, so it
 * runs as a two-node ONNX graph (Gemm → TopK) in onnxruntime: its MLAS kernels are the
 * same class of multi-threaded SIMD GEMM that numpy's BLAS uses, which plain JavaScript
 * loops cannot approach. The graph is built here in memory; no model file is involved.
 *
 * Distances (smaller = more similar):
 * - cosine: 1 − x̂·ŷ (rows normalised here; zero rows stay zero, i.e. distance 1 to all)
 * - euclidean: ‖x − y‖
 * - dotproduct: −x·y
 */
export interface KnnOptions {
  /**
   * For full-index queries (each query is a row of the base): `selfIndex[i]` is the base
   * row of query i, which is left out of its own neighbours.
   */
  selfIndex?: Int32Array;
  /** Rows of `base` to search; the others are ignored (the current view). Indices refer to `base`. */
  restrict?: Int32Array;
  /** Keep only neighbours at distance ≤ radius. */
  radius?: number;
  /** Cancels between blocks. */
  signal?: AbortSignal;
  /** Called after each block with the fraction of queries done. */
  progress?: (fraction: number) => void;
  /** Elements of the q×n distance block computed at once (bounds memory; default 16M). */
  blockElements?: number;
}

export interface KnnResult {
  /** Queries × k, row-major; base row indices, −1 where a query has fewer than k neighbours. */
  indices: Int32Array;
  /** Queries × k, ascending per row; Infinity where there is no neighbour. */
  distances: Float32Array;
  k: number;
}

const OPSET = 17;
const IR_VERSION = 8;

type GraphKind = "affine" | "euclidean";

/**
 * dist = relu?(alpha·Q·Bᵀ + colBias + rowBias), then TopK(smallest).
 * cosine: alpha −1, colBias 1; dotproduct: alpha −1, colBias 0; euclidean (squared): alpha −2,
 * colBias ‖b‖², rowBias ‖q‖², clamped at 0 against rounding.
 */
type GraphOutput = "topk" | "topkBoth" | "distances" | "pairs";

function buildGraph(kind: GraphKind, alpha: number, output: GraphOutput): Uint8Array {
  const bothAxes = output === "topkBoth";
  const floatT = (dims: string[]): onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimParam: d })) } },
  });
  const int64T = (dims: string[]): onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: dims.map((d) => ({ dimParam: d })) } },
  });
  const A = onnx.AttributeProto.AttributeType;
  const nodes: onnx.INodeProto[] = [
    {
      opType: "Gemm",
      input: ["Q", "B", "C"],
      output: ["G"],
      attribute: [
        { name: "alpha", type: A.FLOAT, f: alpha },
        { name: "beta", type: A.FLOAT, f: 1 },
        { name: "transB", type: A.INT, i: 1 },
      ],
    },
    { opType: "Add", input: ["G", "R"], output: ["D0"] },
  ];
  let dist = "D0";
  if (kind === "euclidean") {
    nodes.push({ opType: "Relu", input: ["D0"], output: ["D1"] });
    dist = "D1";
  }
  const topK = (input: string, k: string, values: string, indices: string): onnx.INodeProto => ({
    opType: "TopK",
    input: [input, k],
    output: [values, indices],
    attribute: [
      { name: "largest", type: A.INT, i: 0 },
      { name: "sorted", type: A.INT, i: 1 },
      { name: "axis", type: A.INT, i: -1 },
    ],
  });
  if (output === "pairs") {
    // only the entries ≤ L leave the graph: handing a 4096² block to JavaScript to scan
    // costs more than computing it
    nodes.push({ opType: "LessOrEqual", input: [dist, "L"], output: ["M"] });
    nodes.push({ opType: "NonZero", input: ["M"], output: ["pairIndices"] });
    nodes.push({ opType: "Transpose", input: ["pairIndices"], output: ["NZT"], attribute: [{ name: "perm", type: A.INTS, ints: [1, 0] }] });
    nodes.push({ opType: "GatherND", input: [dist, "NZT"], output: ["pairValues"] });
  } else if (output !== "distances") nodes.push(topK(dist, "K", "values", "indices"));
  if (bothAxes) {
    // the same block seen from B's rows: the nearest Q rows of every B row (TopK along
    // the last axis of the transpose is about twice as fast as along axis 0)
    nodes.push({ opType: "Transpose", input: [dist], output: ["DT"], attribute: [{ name: "perm", type: A.INTS, ints: [1, 0] }] });
    nodes.push(topK("DT", "K0", "values0", "indices0"));
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "brain-ts exactKnn",
    graph: {
      name: `knn_${kind}`,
      node: nodes,
      input: [
        { name: "Q", type: floatT(["q", "d"]) },
        { name: "B", type: floatT(["n", "d"]) },
        { name: "C", type: floatT(["one", "n"]) },
        { name: "R", type: floatT(["q", "one"]) },
        ...(output === "distances" ? [] : output === "pairs" ? [{ name: "L", type: floatT(["one1"]) }] : [{ name: "K", type: int64T(["k1"]) }]),
        ...(bothAxes ? [{ name: "K0", type: int64T(["k1"]) }] : []),
      ],
      output: [
        ...(output === "distances"
          ? [{ name: dist, type: floatT(["q", "n"]) }]
          : output === "pairs"
            ? [
                { name: "pairIndices", type: int64T(["two", "pairs"]) },
                { name: "pairValues", type: floatT(["pairs"]) },
              ]
            : [
              { name: "values", type: floatT(["q", "k"]) },
              { name: "indices", type: int64T(["q", "k"]) },
            ]),
        ...(bothAxes ? [{ name: "values0", type: floatT(["n", "k0"]) }, { name: "indices0", type: int64T(["n", "k0"]) }] : []),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(kind: GraphKind, alpha: number, output: GraphOutput = "topk"): Promise<ort.InferenceSession> {
  const key = `${kind}:${alpha}:${output}`;
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(buildGraph(kind, alpha, output), { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
    sessions.set(key, s);
  }
  return s;
}

/** Copies rows, L2-normalised (zero rows stay zero). */
export function normalizedRows(vectors: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[o + j] * vectors[o + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[o + j] = vectors[o + j] * inv;
  }
  return out;
}

function squaredNorms(vectors: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0, o = i * dim; j < dim; j++) s += vectors[o + j] * vectors[o + j];
    out[i] = s;
  }
  return out;
}

function gatherRows(vectors: Float32Array, dim: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) out.set(vectors.subarray(rows[i] * dim, rows[i] * dim + dim), i * dim);
  return out;
}

/**
 * The k nearest base rows of every query row. `base` is n×dim, `queries` q×dim (the same
 * array as `base` for full-index queries, with `selfIndex`). k is capped at the number of
 * searchable rows.
 */
export async function knnSearch(
  base: Float32Array,
  queries: Float32Array,
  dim: number,
  k: number,
  metric: SimilarityMetric,
  options: KnnOptions = {},
): Promise<KnnResult> {
  if (!Number.isInteger(dim) || dim <= 0) throw new BrainError("INVALID_PARAMS", `Vector dimension must be a positive integer, got ${dim}`);
  if (base.length % dim !== 0 || queries.length % dim !== 0) {
    throw new BrainError("INVALID_DATA", `Vectors do not have dimension ${dim} (base ${base.length} values, queries ${queries.length} values)`);
  }
  if (!Number.isInteger(k) || k <= 0) throw new BrainError("INVALID_PARAMS", `k must be a positive integer, got ${k}`);
  const q = queries.length / dim;
  const restrict = options.restrict;
  let searched = restrict ? gatherRows(base, dim, restrict) : base;
  const n = searched.length / dim;
  const out: KnnResult = { indices: new Int32Array(q * k).fill(-1), distances: new Float32Array(q * k).fill(Infinity), k };
  if (n === 0 || q === 0) return out;

  let queryRows = queries;
  if (metric === "cosine") {
    searched = normalizedRows(searched, n, dim);
    queryRows = queries === base && !restrict ? searched : normalizedRows(queries, q, dim);
  }
  const kind: GraphKind = metric === "euclidean" ? "euclidean" : "affine";
  const alpha = metric === "euclidean" ? -2 : -1;
  const colBias = metric === "euclidean" ? squaredNorms(searched, n, dim) : new Float32Array(n).fill(metric === "cosine" ? 1 : 0);
  const rowNorms = metric === "euclidean" ? squaredNorms(queryRows, q, dim) : null;

  // One extra candidate per query so its own row can be dropped.
  const self = options.selfIndex;
  const kSearch = Math.min(n, k + (self ? 1 : 0));
  // Base row → searched position, to recognise a query's own row under `restrict`.
  let positionOf: ((row: number) => number) | null = null;
  if (self) {
    if (restrict) {
      const pos = new Map<number, number>();
      restrict.forEach((r, i) => pos.set(r, i));
      positionOf = (row) => pos.get(row) ?? -1;
    } else positionOf = (row) => row;
  }

  const sess = await session(kind, alpha);
  const B = new ort.Tensor("float32", searched, [n, dim]);
  const C = new ort.Tensor("float32", colBias, [1, n]);
  const K = new ort.Tensor("int64", BigInt64Array.from([BigInt(kSearch)]), [1]);
  const blockRows = Math.max(1, Math.min(q, Math.floor((options.blockElements ?? 1 << 24) / n)));
  const radius = options.radius ?? Infinity;

  for (let start = 0; start < q; start += blockRows) {
    if (options.signal?.aborted) throw new BrainError("CANCELLED", "The search was cancelled");
    const rows = Math.min(blockRows, q - start);
    const Q = new ort.Tensor("float32", queryRows.subarray(start * dim, (start + rows) * dim), [rows, dim]);
    const R = new ort.Tensor("float32", rowNorms ? rowNorms.subarray(start, start + rows) : new Float32Array(rows), [rows, 1]);
    const res = await sess.run({ Q, B, C, R, K });
    const values = res.values.data as Float32Array;
    const idx = res.indices.data as BigInt64Array;
    for (let r = 0; r < rows; r++) {
      const qi = start + r;
      const own = positionOf ? positionOf(self![qi]) : -1;
      let filled = 0;
      for (let j = 0; j < kSearch && filled < k; j++) {
        const pos = Number(idx[r * kSearch + j]);
        if (pos === own) continue;
        let d = values[r * kSearch + j];
        if (metric === "euclidean") d = Math.sqrt(d);
        if (d > radius) break;
        out.indices[qi * k + filled] = restrict ? restrict[pos] : pos;
        out.distances[qi * k + filled] = d;
        filled++;
      }
    }
    options.progress?.((start + rows) / q);
  }
  return out;
}

export type SelfKnnOptions = Pick<KnnOptions, "radius" | "signal" | "progress" | "blockElements"> & {
  /** Dimension from which the symmetric blocks pay off (below, the partial sorts outweigh the saved products). */
  symmetricMinDim?: number;
};

const SYMMETRIC_MIN_DIM = 384;

/**
 * The k nearest other rows of every row of `vectors` (a full-index query). The distance
 * matrix is symmetric, so only the blocks on and above its diagonal are computed: each
 * off-diagonal block gives candidates to its rows (TopK along rows) and to its columns
 * (TopK along columns), which halves the matrix products of `knnSearch` on the same rows.
 * The second partial sort costs about as much as the product saved at 256 dimensions and
 * a third less from 384 (measured on 4096 × 4096 blocks), so lower dimensions take the
 * full-matrix search. With a finite `radius`, radiusSelf below (no partial sorts).
 * Per row, candidates are merged in increasing column order, earlier ones winning ties,
 * so ties resolve to the lower index as in one TopK over the whole row.
 */
export async function knnSelf(vectors: Float32Array, dim: number, k: number, metric: SimilarityMetric, options: SelfKnnOptions = {}): Promise<KnnResult> {
  if (!Number.isInteger(dim) || dim <= 0) throw new BrainError("INVALID_PARAMS", `Vector dimension must be a positive integer, got ${dim}`);
  if (vectors.length % dim !== 0) throw new BrainError("INVALID_DATA", `Vectors do not have dimension ${dim} (${vectors.length} values)`);
  if (!Number.isInteger(k) || k <= 0) throw new BrainError("INVALID_PARAMS", `k must be a positive integer, got ${k}`);
  const n = vectors.length / dim;
  if (options.radius !== undefined && Number.isFinite(options.radius)) return radiusSelf(vectors, n, dim, k, metric, options.radius, options);
  if (dim < (options.symmetricMinDim ?? SYMMETRIC_MIN_DIM)) return knnSearch(vectors, vectors, dim, k, metric, { ...options, selfIndex: Int32Array.from({ length: n }, (_, i) => i) });
  const out: KnnResult = { indices: new Int32Array(n * k).fill(-1), distances: new Float32Array(n * k).fill(Infinity), k };
  if (n <= 1) return out;
  const sides = selfRows(vectors, n, dim, metric);
  const sess = await session(sides.kind, sides.alpha, "topkBoth");
  // Each row keeps its kk = k + 1 best (its own row is among them), sorted ascending.
  const kk = Math.min(n, k + 1);
  const bestD = new Float32Array(n * kk).fill(Infinity);
  const bestI = new Int32Array(n * kk).fill(-1);
  const scratchD = new Float32Array(kk);
  const scratchI = new Int32Array(kk);
  const merge = (row: number, values: Float32Array, idx: BigInt64Array, at: number, count: number, offset: number) => {
    const base = row * kk;
    let a = 0;
    let b = 0;
    for (let t = 0; t < kk; t++) {
      const da = a < kk ? bestD[base + a] : Infinity;
      const db = b < count ? values[at + b] : Infinity;
      if (a < kk && (da <= db || b >= count) && bestI[base + a] >= 0) {
        scratchD[t] = da;
        scratchI[t] = bestI[base + a++];
      } else if (b < count) {
        scratchD[t] = db;
        scratchI[t] = Number(idx[at + b]) + offset;
        b++;
      } else {
        scratchD[t] = Infinity;
        scratchI[t] = -1;
      }
    }
    bestD.set(scratchD, base);
    bestI.set(scratchI, base);
  };
  await forEachUpperBlock(sides, n, dim, options, async (i0, ri, j0, rj, feeds) => {
    const k1 = Math.min(kk, rj);
    const k0 = Math.min(kk, ri);
    const res = await sess.run({
      ...feeds,
      K: new ort.Tensor("int64", BigInt64Array.from([BigInt(k1)]), [1]),
      K0: new ort.Tensor("int64", BigInt64Array.from([BigInt(k0)]), [1]),
    });
    const v1 = res.values.data as Float32Array;
    const i1 = res.indices.data as BigInt64Array;
    for (let r = 0; r < ri; r++) merge(i0 + r, v1, i1, r * k1, k1, j0);
    if (j0 !== i0) {
      const v0 = res.values0.data as Float32Array;
      const x0 = res.indices0.data as BigInt64Array;
      for (let c = 0; c < rj; c++) merge(j0 + c, v0, x0, c * k0, k0, i0);
    }
  });
  const radius = options.radius ?? Infinity;
  for (let row = 0; row < n; row++) {
    let filled = 0;
    for (let t = 0; t < kk && filled < k; t++) {
      const j = bestI[row * kk + t];
      if (j < 0) break;
      if (j === row) continue;
      let d = bestD[row * kk + t];
      if (metric === "euclidean") d = Math.sqrt(d);
      if (d > radius) break;
      out.indices[row * k + filled] = j;
      out.distances[row * k + filled] = d;
      filled++;
    }
  }
  return out;
}

/**
 * knnSelf within a radius: each block of the upper triangle of the distance matrix is
 * scanned here for the pairs within the radius, each offered to both of its rows, so no
 * partial sort runs at all (near-duplicate radii leave most pairs out). Rows keep their k
 * nearest, earlier (lower) indices first on ties, as a TopK over the whole row would.
 */
async function radiusSelf(vectors: Float32Array, n: number, dim: number, k: number, metric: SimilarityMetric, radius: number, options: SelfKnnOptions): Promise<KnnResult> {
  const out: KnnResult = { indices: new Int32Array(n * k).fill(-1), distances: new Float32Array(n * k).fill(Infinity), k };
  if (n <= 1) return out;
  const sides = selfRows(vectors, n, dim, metric);
  const sess = await session(sides.kind, sides.alpha, "pairs");
  const limit = metric === "euclidean" ? radius * radius : radius;
  const L = new ort.Tensor("float32", Float32Array.of(limit), [1]);
  const { indices: bestI, distances: bestD } = out;
  const count = new Int32Array(n);
  const offer = (row: number, col: number, d: number) => {
    const base = row * k;
    let c = count[row];
    if (c === k) {
      if (!(d < bestD[base + k - 1])) return;
      c = k - 1;
    } else count[row] = c + 1;
    let p = c;
    for (; p > 0 && bestD[base + p - 1] > d; p--) {
      bestD[base + p] = bestD[base + p - 1];
      bestI[base + p] = bestI[base + p - 1];
    }
    bestD[base + p] = d;
    bestI[base + p] = col;
  };
  await forEachUpperBlock(sides, n, dim, options, async (i0, _ri, j0, _rj, feeds) => {
    const out = await sess.run({ ...feeds, L });
    const at = out.pairIndices.data as BigInt64Array;
    const values = out.pairValues.data as Float32Array;
    const found = values.length;
    const diagonal = i0 === j0;
    for (let t = 0; t < found; t++) {
      const r = Number(at[t]);
      const c = Number(at[found + t]);
      // on the diagonal block each unordered pair once (and never a row with itself)
      if (diagonal && c <= r) continue;
      offer(i0 + r, j0 + c, values[t]);
      offer(j0 + c, i0 + r, values[t]);
    }
  });
  if (metric === "euclidean") for (let t = 0; t < bestD.length; t++) if (bestI[t] >= 0) bestD[t] = Math.sqrt(bestD[t]);
  return out;
}

/** The rows a self-search multiplies, with the biases its graph adds for the metric. */
interface SelfRows {
  rows: Float32Array;
  norms: Float32Array | null;
  colBias: Float32Array;
  kind: GraphKind;
  alpha: number;
}

function selfRows(vectors: Float32Array, n: number, dim: number, metric: SimilarityMetric): SelfRows {
  const rows = metric === "cosine" ? normalizedRows(vectors, n, dim) : vectors;
  const norms = metric === "euclidean" ? squaredNorms(rows, n, dim) : null;
  return {
    rows,
    norms,
    colBias: norms ?? new Float32Array(n).fill(metric === "cosine" ? 1 : 0),
    kind: metric === "euclidean" ? "euclidean" : "affine",
    alpha: metric === "euclidean" ? -2 : -1,
  };
}

/**
 * Visits the blocks (i ≤ j) of the upper triangle of the rows' distance matrix, row
 * blocks in order, with the graph inputs Q (rows of block i), B (rows of block j), C, R.
 */
async function forEachUpperBlock(
  sides: SelfRows,
  n: number,
  dim: number,
  options: SelfKnnOptions,
  visit: (i0: number, ri: number, j0: number, rj: number, feeds: Record<string, ort.Tensor>) => Promise<void>,
): Promise<void> {
  const { rows, norms, colBias } = sides;
  const block = Math.max(1, Math.min(n, Math.floor(Math.sqrt(options.blockElements ?? 1 << 24))));
  const starts: number[] = [];
  for (let s = 0; s < n; s += block) starts.push(s);
  const pairs = (starts.length * (starts.length + 1)) / 2;
  let done = 0;
  for (const [bi, i0] of starts.entries()) {
    const ri = Math.min(block, n - i0);
    const Q = new ort.Tensor("float32", rows.subarray(i0 * dim, (i0 + ri) * dim), [ri, dim]);
    const R = new ort.Tensor("float32", norms ? norms.subarray(i0, i0 + ri) : new Float32Array(ri), [ri, 1]);
    for (const j0 of starts.slice(bi)) {
      if (options.signal?.aborted) throw new BrainError("CANCELLED", "The search was cancelled");
      const rj = Math.min(block, n - j0);
      const B = new ort.Tensor("float32", rows.subarray(j0 * dim, (j0 + rj) * dim), [rj, dim]);
      const C = new ort.Tensor("float32", colBias.subarray(j0, j0 + rj), [1, rj]);
      await visit(i0, ri, j0, rj, { Q, B, C, R });
      options.progress?.(++done / pairs);
    }
  }
}
