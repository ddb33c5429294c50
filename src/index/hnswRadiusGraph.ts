import { BrainError } from "../errors";
import { graphFromRows, NeighborGraph } from "../methods/nearDuplicates";
import { Metric } from "../methods/neighborGraph";
import { columnMean } from "../methods/vectors";
import { HnswParams } from "./hnswIndex";
import { ShardedHnsw } from "./shardedHnsw";

/**
 * Approximate radius-neighbour graphs for large sets: the capped graph of `radiusGraph`
 * (methods/neighborGraph.ts), with each row's candidates found by the sharded HNSW index
 * (all cores) instead of comparing every pair. Candidates whose hnswlib distance is within
 * the radius (plus float32 slack) get their distance recomputed in float64 exactly as
 * radiusGraph computes it, on the fly from the float32 rows and the float64 mean, so the
 * only memory besides the vectors is the HNSW index and the graph. Found pairs are made
 * symmetric (a pair found from either end is in both rows), as an exact graph is.
 *
 * What is approximate: a pair HNSW misses is missing. A row whose every candidate is
 * within the radius is saturated: the graph is then complete only below its first
 * dropped distance, as radiusGraph reports (`radius`).
 */
export interface HnswGraphOptions {
  /** Build and search parameters (search `ef` is raised to the number of candidates). */
  params?: Partial<HnswParams>;
  shards?: number;
  /** Rows queried per round trip to the shards. */
  batchRows?: number;
  /** Centre the rows by this instead of their own mean (a view of an index is centred by the index's mean). */
  center?: ArrayLike<number>;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
}

/**
 * Defaults for duplicate search: a lighter build than similarity search's (M 16,
 * ef_construction 200), as duplicates are the nearest of neighbours, and a broad search.
 * On clustered 512-d data (bench/clusteredVectors.ts) at 1M rows, where each cluster holds
 * ≈ 1000 rows about equally far apart (a greedy search has no gradient to follow there),
 * ef 32 / 64 / 96 / 128 found 83 / 92 / 96 / 98% of the duplicate pairs, in 243 / 347 /
 * 378 / 425 s on 2 cores (the build, ≈ 105 s, does not depend on ef).
 */
export const NEAR_DUPLICATE_HNSW: HnswParams = { m: 16, ef_construction: 48, ef: 128, random_seed: 100 };

type Row = { index: number; dist: number }[];

export class HnswNeighbors {
  private constructor(
    private readonly index: ShardedHnsw,
    private readonly vectors: Float32Array,
    readonly n: number,
    readonly dim: number,
    readonly metric: Metric,
    private readonly mean: Float64Array,
    /** Norm of each centered row (cosine), used as centeredRows divides by it. */
    private readonly norms: Float64Array | null,
    private readonly options: HnswGraphOptions,
  ) {}

  /** Builds the sharded index over the centered rows (the reference's distances). */
  static async build(vectors: Float32Array, n: number, dim: number, metric: Metric, options: HnswGraphOptions = {}): Promise<HnswNeighbors> {
    if (vectors.length !== n * dim) throw new RangeError(`Expected ${n}×${dim} values, got ${vectors.length}`);
    const shared = ShardedHnsw.shared(vectors);
    // The same sums in the same order as centeredRows, so distances are bit-identical.
    const { mean, norms } = centering(shared, n, dim, metric, options.center);
    const params = { ...NEAR_DUPLICATE_HNSW, ...options.params };
    const index = await ShardedHnsw.build(shared, n, dim, {
      space: metric === "cosine" ? "cosine" : "l2",
      params,
      shards: options.shards,
      offset: mean,
      signal: options.signal,
      progress: options.progress,
    });
    return new HnswNeighbors(index, shared, n, dim, metric, mean, norms, { ...options, params });
  }

  /** radiusGraph's distance between rows i and j, in float64. */
  distance(i: number, j: number): number {
    return centeredDistance(this.vectors, this.mean, this.norms, this.dim, i, j);
  }

  /**
   * Each row's neighbours within `radius` among its `maxNeighbors + 1` HNSW candidates
   * (at most `maxNeighbors` kept), for all rows or the listed ones (others stay empty).
   */
  async rows(radius: number, maxNeighbors: number, only?: Int32Array, progress?: (fraction: number) => void): Promise<Row[]> {
    const { n } = this;
    const k = Math.min(n, maxNeighbors + 2); // + itself
    await this.index.setEf(Math.max(k, this.options.params?.ef ?? NEAR_DUPLICATE_HNSW.ef));
    const slack = 1e-4 * Math.max(1, radius);
    // hnswlib's distance: 1 − cos for cosine, squared L2 for euclidean.
    const cutoff = this.metric === "cosine" ? radius + slack : (radius + slack) ** 2;
    const out: Row[] = Array.from({ length: n }, () => []);
    const batch = this.options.batchRows ?? 2048;
    const wanted = only ?? null;
    const total = wanted ? wanted.length : n;
    const fetch = (start: number) => {
      const end = Math.min(total, start + batch);
      if (!wanted) return this.index.searchRows(start, end, k, this.options.signal);
      const queries = new Float32Array((end - start) * this.dim);
      for (let q = start; q < end; q++) queries.set(this.vectors.subarray(wanted[q] * this.dim, (wanted[q] + 1) * this.dim), (q - start) * this.dim);
      return this.index.search(queries, k, this.options.signal);
    };
    // One batch ahead, so the shards search while this thread re-checks the previous one.
    let next = total > 0 ? fetch(0) : null;
    for (let start = 0; start < total; start += batch) {
      const end = Math.min(total, start + batch);
      const found = await next!;
      next = end < total ? fetch(end) : null;
      for (let q = start; q < end; q++) {
        const i = wanted ? wanted[q] : q;
        const row: Row = [];
        let candidates = 0;
        for (let c = 0; c < k; c++) {
          const j = found.labels[(q - start) * k + c];
          if (j < 0) break;
          if (j === i) continue;
          if (++candidates > maxNeighbors + 1) break;
          if (found.distances[(q - start) * k + c] > cutoff) break; // ascending
          const d = this.distance(i, j);
          if (d <= radius) row.push({ index: j, dist: d });
        }
        out[i] = row;
      }
      progress?.(end / total);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.index.close();
  }
}

/**
 * radiusGraph's float64 distance between rows i and j of float32 rows, computed on the
 * fly with the same operations as centeredRows + rowDistance (so bit-identical): rows
 * centered by `mean`; for cosine (`norms` given: each centered row's norm) normalised,
 * clip(1 − x̂·ŷ, 0, 2); else Euclidean.
 */
export function centeredDistance(x: Float32Array, mean: Float64Array, norms: Float64Array | null, dim: number, i: number, j: number): number {
  const a = i * dim;
  const b = j * dim;
  if (norms) {
    const ni = norms[i];
    const nj = norms[j];
    let dot = 0;
    for (let k = 0; k < dim; k++) {
      let u = x[a + k] - mean[k];
      let v = x[b + k] - mean[k];
      if (ni > 0) u /= ni;
      if (nj > 0) v /= nj;
      dot += u * v;
    }
    return Math.min(2, Math.max(0, 1 - dot));
  }
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const t = x[a + k] - mean[k] - (x[b + k] - mean[k]);
    s += t * t;
  }
  return Math.sqrt(s);
}

/** The float64 column means and (cosine) centered row norms, summed as centeredRows sums them. */
export function centering(x: Float32Array, n: number, dim: number, metric: Metric, center?: ArrayLike<number>): { mean: Float64Array; norms: Float64Array | null } {
  const mean = center ? Float64Array.from(center) : columnMean(x, n, dim);
  if (metric !== "cosine") return { mean, norms: null };
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = x[i * dim + k] - mean[k];
      s += v * v;
    }
    norms[i] = Math.sqrt(s);
  }
  return { mean, norms };
}

/** Symmetric, sorted, capped rows → the graph; `radius` drops to where capping made it incomplete. */
function capped(rows: Row[], radius: number, maxNeighbors: number, saturated: Uint8Array | null): NeighborGraph {
  const n = rows.length;
  // Rows are short (≤ candidates + pairs found from the other end): a scan beats a set per row.
  for (let i = 0; i < n; i++) {
    const own = rows[i].length; // entries appended below come from rows already visited
    for (let c = 0; c < own; c++) {
      const e = rows[i][c];
      const other = rows[e.index];
      if (!other.some((f) => f.index === i)) other.push({ index: i, dist: e.dist });
    }
  }
  let exactRadius = radius;
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    row.sort((x, y) => x.dist - y.dist || x.index - y.index);
    if (row.length > maxNeighbors) {
      exactRadius = Math.min(exactRadius, row[maxNeighbors].dist);
      row.length = maxNeighbors;
      saturated?.fill(1, i, i + 1);
    }
  }
  return graphFromRows(rows, exactRadius);
}

/**
 * The near-duplicate graphs from HNSW, as `neighbourGraphs` (runtime/jobs/nearDuplicates)
 * computes them exactly: `graph` up to `storedRadius` capped at `maxStored` neighbours
 * (kept with the run), and `exact` complete up to `threshold`. Rows saturated below the
 * threshold are searched again with up to `maxNeighbors` candidates; if a row still has
 * more neighbours than that within the threshold, the threshold is too loose for this
 * data and a clear error says so.
 */
export async function hnswNeighbourGraphs(
  vectors: Float32Array,
  n: number,
  dim: number,
  metric: Metric,
  threshold: number,
  storedRadius: number,
  maxStored: number,
  options: HnswGraphOptions & { maxNeighbors?: number } = {},
): Promise<{ graph: NeighborGraph; exact: NeighborGraph }> {
  if (n < 2) {
    const empty = graphFromRows(Array.from({ length: n }, () => []), storedRadius);
    return { graph: empty, exact: empty };
  }
  const progress = options.progress ?? (() => {});
  const search = await HnswNeighbors.build(vectors, n, dim, metric, { ...options, progress: (f) => progress(0.6 * f) });
  try {
    const rows = await search.rows(storedRadius, maxStored, undefined, (f) => progress(0.6 + 0.35 * f));
    const saturated = new Uint8Array(n);
    const graph = capped(rows.map((r) => r.slice()), storedRadius, maxStored, saturated);
    if (graph.radius >= threshold) return { graph, exact: graph };
    // Rows with more than maxStored neighbours within the stored radius: search them deeper.
    const maxNeighbors = options.maxNeighbors ?? 256;
    const again = Int32Array.from(saturated.reduce<number[]>((acc, s, i) => (s ? (acc.push(i), acc) : acc), []));
    const deeper = await search.rows(threshold, maxNeighbors, again, (f) => progress(0.95 + 0.05 * f));
    const exactRows = rows.map((r, i) => (saturated[i] ? deeper[i] : r.filter((e) => e.dist <= threshold)));
    const exact = capped(exactRows, threshold, maxNeighbors, null);
    if (exact.radius < threshold) {
      throw new BrainError(
        "INVALID_PARAMS",
        `More than ${maxNeighbors} samples lie within the threshold ${threshold} of one sample: lower the threshold, or use the exact method for this many duplicates`,
      );
    }
    return { graph, exact };
  } finally {
    await search.close();
  }
}
