import { BrainError } from "../errors";
import { knnSearch, normalizedRows } from "./exactKnn";
import {
  AddOptions,
  AddResult,
  IndexCapabilities,
  IndexItems,
  QueryOptions,
  QueryResult,
  SimilarityIndex,
  SimilarityMetric,
} from "./similarityIndex";

/**
 * The exact (brute-force) backend, the default, with the reference's sklearn backend's
 * visible semantics:
 * - vector queries: distances between the raw query and the raw stored vectors;
 * - id queries (one id, or several with a post-aggregation) whose ids are all in the
 *   current view: distances between vectors centred by the mean of the whole index
 *   (of the view when the index has more than 15000 items and the view at most 15000),
 *   the query item's own distance 0 (ignored by post-aggregations);
 * - otherwise (more than 15000 items, or ids outside the view, or mean-aggregated ids)
 *   the ids' stored vectors (averaged for "mean") are queried raw.
 * Unlike the reference, centring is done on a copy: stored vectors never change.
 * Distances: cosine = 1 − cos (clipped to [0, 2], a zero vector is at 1), euclidean,
 * dotproduct = 1 − ⟨q, x⟩ (hnswlib's inner-product distance). Ties keep index order.
 *
 * Nearest-first queries run on the shared multi-threaded k-NN kernel (float32 GEMM);
 * centred id queries and least-similar-first (reverse) queries compute every distance of
 * the view in float64.
 */
export const MAX_CENTRED_ROWS = 15000;

export type Aggregation = "mean" | "post-mean" | "post-min" | "post-max";

export interface IdQueryOptions extends QueryOptions {
  aggregation?: Aggregation;
}

const CAPABILITIES: IndexCapabilities = { supportsLeastSimilarity: true, supportsFullIndexQueries: true };

export class ExactIndex implements SimilarityIndex {
  readonly backend: string = "exact";
  readonly capabilities = CAPABILITIES;
  private ids: string[] = [];
  private sampleIds: string[] | undefined;
  private rows = new Map<string, number>();
  private data: Float32Array;
  /** L2-normalised copy of the rows for cosine queries (rebuilt after changes). */
  private unitRows: Float32Array | null = null;

  constructor(
    readonly metric: SimilarityMetric,
    readonly dim: number,
    patches = false,
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new BrainError("INVALID_PARAMS", `An index needs a positive dimension; got ${dim}`);
    if (!["cosine", "euclidean", "dotproduct"].includes(metric)) {
      throw new BrainError("INVALID_PARAMS", `Unsupported metric '${metric}' for the exact backend: use cosine, euclidean or dotproduct`);
    }
    this.data = new Float32Array(dim * 64);
    if (patches) this.sampleIds = [];
  }

  /** Whether items are labels (patch index) with a sample each. */
  get isPatchIndex(): boolean {
    return this.sampleIds !== undefined;
  }

  async size(): Promise<number> {
    return this.ids.length;
  }

  /** Number of items, synchronously. */
  get count(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  /** Every item id, in index order. */
  itemIds(): readonly string[] {
    return this.ids;
  }

  /** The sample of each item (patch indexes), else the item ids. */
  itemSampleIds(): readonly string[] {
    return this.sampleIds ?? this.ids;
  }

  async add(items: IndexItems, options: AddOptions = {}): Promise<AddResult> {
    const n = checkItems(items, this.dim, this.isPatchIndex);
    const overwrite = options.overwrite ?? true;
    const result: AddResult = { added: 0, replaced: 0, skipped: 0 };
    this.unitRows = null;
    this.reserve(this.ids.length + n);
    for (let i = 0; i < n; i++) {
      const id = items.ids[i];
      let row = this.rows.get(id);
      if (row !== undefined) {
        if (!overwrite) {
          result.skipped++;
          continue;
        }
        result.replaced++;
      } else {
        row = this.ids.length;
        this.ids.push(id);
        this.sampleIds?.push(items.sampleIds![i]);
        this.rows.set(id, row);
        result.added++;
      }
      if (this.sampleIds) this.sampleIds[row] = items.sampleIds![i];
      this.data.set(items.vectors.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim);
    }
    return result;
  }

  async remove(ids: string[]): Promise<number> {
    const drop = new Set(ids.filter((id) => this.rows.has(id)));
    if (drop.size === 0) return 0;
    this.unitRows = null;
    let w = 0;
    const keptSamples: string[] = [];
    const keptIds: string[] = [];
    for (let r = 0; r < this.ids.length; r++) {
      if (drop.has(this.ids[r])) continue;
      if (w !== r) this.data.copyWithin(w * this.dim, r * this.dim, (r + 1) * this.dim);
      keptIds.push(this.ids[r]);
      if (this.sampleIds) keptSamples.push(this.sampleIds[r]);
      w++;
    }
    this.ids = keptIds;
    if (this.sampleIds) this.sampleIds = keptSamples;
    this.rows = new Map(keptIds.map((id, i) => [id, i]));
    return drop.size;
  }

  async getEmbeddings(ids?: string[]): Promise<IndexItems> {
    const rows = ids ? ids.map((id) => this.rows.get(id)).filter((r): r is number => r !== undefined) : this.ids.map((_, i) => i);
    const vectors = new Float32Array(rows.length * this.dim);
    rows.forEach((r, i) => vectors.set(this.vector(r), i * this.dim));
    return {
      ids: rows.map((r) => this.ids[r]),
      ...(this.sampleIds ? { sampleIds: rows.map((r) => this.sampleIds![r]) } : {}),
      vectors,
    };
  }

  /** The stored vector of row `r` (a view, not a copy). */
  vector(r: number): Float32Array {
    return this.data.subarray(r * this.dim, (r + 1) * this.dim);
  }

  async query(queries: Float32Array, options: QueryOptions = {}): Promise<QueryResult[]> {
    if (queries.length === 0 || queries.length % this.dim !== 0) {
      throw new BrainError("INVALID_PARAMS", `Query vectors must have ${this.dim} values each (this index's dimension); got ${queries.length} values`);
    }
    const candidates = this.candidateRows(options.restrictTo);
    if (!options.reverse) return this.nearest(queries, candidates, options.restrictTo !== undefined, options.k);
    const results: QueryResult[] = [];
    for (let q = 0; q < queries.length / this.dim; q++) {
      const dists = this.rawDistances(queries.subarray(q * this.dim, (q + 1) * this.dim), candidates);
      results.push(this.rank(candidates, dists, options));
    }
    return results;
  }

  /**
   * Items nearest to stored items, with the reference's id-query semantics (see the
   * module comment). Unknown ids are an error naming them.
   */
  async queryByIds(queryIds: string[], options: IdQueryOptions = {}): Promise<QueryResult> {
    if (queryIds.length === 0) throw new BrainError("INVALID_PARAMS", "At least one query must be provided");
    const unknown = queryIds.filter((id) => !this.rows.has(id));
    if (unknown.length) {
      throw new BrainError("INVALID_PARAMS", `Query IDs ${JSON.stringify(unknown.slice(0, 5))}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ""} do not exist in this index`);
    }
    const aggregation = options.aggregation ?? "mean";
    const candidates = this.candidateRows(options.restrictTo);
    const queryRows = queryIds.map((id) => this.rows.get(id)!);
    const preMean = aggregation === "mean" && queryRows.length > 1;
    const inView = options.restrictTo ? queryIds.every((id) => options.restrictTo!.has(id)) : true;
    const centreOver = this.count <= MAX_CENTRED_ROWS ? null : candidates.length <= MAX_CENTRED_ROWS && options.restrictTo ? candidates : undefined;
    const centred = !preMean && inView && centreOver !== undefined;

    let dists: Float64Array;
    if (preMean) {
      const mean = new Float64Array(this.dim);
      for (const r of queryRows) {
        const v = this.vector(r);
        for (let k = 0; k < this.dim; k++) mean[k] += v[k];
      }
      for (let k = 0; k < this.dim; k++) mean[k] /= queryRows.length;
      if (!options.reverse) return (await this.nearest(Float32Array.from(mean), candidates, options.restrictTo !== undefined, options.k))[0];
      dists = this.rawDistances(mean, candidates);
    } else if (!centred && queryRows.length === 1 && !options.reverse) {
      return (await this.nearest(Float32Array.from(this.vector(queryRows[0])), candidates, options.restrictTo !== undefined, options.k))[0];
    } else {
      const mean = centred ? this.columnMean(centreOver) : null;
      const perQuery = queryRows.map((r) => {
        const d = mean ? this.centredDistances(r, mean, candidates) : this.rawDistances(this.vector(r), candidates);
        // The reference fills the query item's own entry with NaN (ignored by aggregations, then 0).
        if (mean) {
          const at = candidates.indexOf(r);
          if (at >= 0) d[at] = NaN;
        }
        return d;
      });
      dists = aggregateRows(perQuery, aggregation === "mean" ? "post-mean" : aggregation);
      if (centred) for (let i = 0; i < dists.length; i++) if (Number.isNaN(dists[i])) dists[i] = 0;
    }
    return this.rank(candidates, dists, options);
  }

  async save(): Promise<void> {}

  async close(): Promise<void> {}

  async cleanup(): Promise<void> {}

  /** Nearest-first results of raw queries on the k-NN kernel. */
  private async nearest(queries: Float32Array, candidates: number[], restricted: boolean, k?: number): Promise<QueryResult[]> {
    const q = queries.length / this.dim;
    const kk = Math.min(k ?? candidates.length, candidates.length);
    if (kk === 0) return Array.from({ length: q }, () => ({ ids: [], distances: new Float32Array(0) }));
    const n = this.count;
    let base = this.data.subarray(0, n * this.dim);
    let metric = this.metric;
    let queryRows = queries;
    if (metric === "cosine") {
      // 1 − x̂·ŷ as 1 + (−x̂·ŷ): the normalised rows are kept between queries.
      this.unitRows ??= normalizedRows(base, n, this.dim);
      base = this.unitRows;
      queryRows = normalizedRows(queries, q, this.dim);
      metric = "dotproduct";
    }
    const found = await knnSearch(base, queryRows, this.dim, kk, metric, restricted ? { restrict: Int32Array.from(candidates) } : {});
    const results: QueryResult[] = [];
    for (let i = 0; i < q; i++) {
      const ids: string[] = [];
      const distances = new Float32Array(kk);
      for (let j = 0; j < kk; j++) {
        const row = found.indices[i * kk + j];
        if (row < 0) break;
        ids.push(this.ids[row]);
        const d = 1 + found.distances[i * kk + j];
        // the kernel's dot-product distance is −⟨q, x⟩
        distances[j] = this.metric === "euclidean" ? found.distances[i * kk + j] : this.metric === "cosine" ? Math.min(2, Math.max(0, d)) : d;
      }
      results.push({ ids, distances: distances.subarray(0, ids.length) });
    }
    return results;
  }

  private reserve(rows: number): void {
    if (rows * this.dim <= this.data.length) return;
    const grown = new Float32Array(Math.max(rows, Math.ceil(this.data.length / this.dim) * 2) * this.dim);
    grown.set(this.data.subarray(0, this.ids.length * this.dim));
    this.data = grown;
  }

  /** Rows a query may return, in index order. */
  private candidateRows(restrictTo?: ReadonlySet<string>): number[] {
    if (!restrictTo) return this.ids.map((_, i) => i);
    const rows: number[] = [];
    for (let r = 0; r < this.ids.length; r++) if (restrictTo.has(this.ids[r])) rows.push(r);
    return rows;
  }

  private columnMean(rows: number[] | null): Float64Array {
    const mean = new Float64Array(this.dim);
    const n = rows ? rows.length : this.count;
    for (let i = 0; i < n; i++) {
      const v = this.vector(rows ? rows[i] : i);
      for (let k = 0; k < this.dim; k++) mean[k] += v[k];
    }
    for (let k = 0; k < this.dim; k++) mean[k] /= n;
    return mean;
  }

  private rawDistances(query: ArrayLike<number>, rows: number[]): Float64Array {
    return this.distances(query, null, rows);
  }

  private centredDistances(row: number, mean: Float64Array, rows: number[]): Float64Array {
    const v = this.vector(row);
    const q = new Float64Array(this.dim);
    for (let k = 0; k < this.dim; k++) q[k] = v[k] - mean[k];
    return this.distances(q, mean, rows);
  }

  /** Distances from `query` to each row (minus `shift` when centring), in float64. */
  private distances(query: ArrayLike<number>, shift: Float64Array | null, rows: number[]): Float64Array {
    const dim = this.dim;
    const out = new Float64Array(rows.length);
    let qq = 0;
    for (let k = 0; k < dim; k++) qq += query[k] * query[k];
    const data = this.data;
    for (let i = 0; i < rows.length; i++) {
      const base = rows[i] * dim;
      let dot = 0;
      let xx = 0;
      let dd = 0;
      for (let k = 0; k < dim; k++) {
        const x = shift ? data[base + k] - shift[k] : data[base + k];
        const q = query[k];
        dot += q * x;
        xx += x * x;
        const diff = q - x;
        dd += diff * diff;
      }
      out[i] = metricDistance(this.metric, dot, qq, xx, dd);
    }
    return out;
  }

  private rank(candidates: number[], dists: ArrayLike<number>, options: QueryOptions): QueryResult {
    const order = Array.from({ length: candidates.length }, (_, i) => i);
    order.sort((a, b) => dists[a] - dists[b] || a - b);
    if (options.reverse) order.reverse();
    const k = options.k === undefined ? order.length : Math.min(options.k, order.length);
    const top = order.slice(0, k);
    return { ids: top.map((i) => this.ids[candidates[i]]), distances: Float32Array.from(top, (i) => dists[i]) };
  }
}

export function metricDistance(metric: SimilarityMetric, dot: number, qq: number, xx: number, dd: number): number {
  switch (metric) {
    case "cosine": {
      const norm = Math.sqrt(qq) * Math.sqrt(xx);
      const d = norm > 0 ? 1 - dot / norm : 1;
      return d < 0 ? 0 : d > 2 ? 2 : d;
    }
    case "euclidean":
      return Math.sqrt(dd);
    case "dotproduct":
      return 1 - dot;
  }
}

/** Column-wise NaN-ignoring mean / min / max of distance rows (NaN where a column has no value). */
export function aggregateRows(rows: Float64Array[], aggregation: Exclude<Aggregation, "mean">): Float64Array {
  if (rows.length === 1) return rows[0];
  const n = rows[0].length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let acc = aggregation === "post-min" ? Infinity : aggregation === "post-max" ? -Infinity : 0;
    let count = 0;
    for (const row of rows) {
      const v = row[j];
      if (Number.isNaN(v)) continue;
      count++;
      if (aggregation === "post-min") acc = Math.min(acc, v);
      else if (aggregation === "post-max") acc = Math.max(acc, v);
      else acc += v;
    }
    out[j] = count === 0 ? NaN : aggregation === "post-mean" ? acc / count : acc;
  }
  return out;
}

/** Checks the shape of items to add; returns their number. */
export function checkItems(items: IndexItems, dim: number, patches: boolean): number {
  const n = items.ids.length;
  if (items.vectors.length !== n * dim) {
    const got = n ? items.vectors.length / n : items.vectors.length;
    throw new BrainError("INVALID_DATA", `Embeddings have dimension ${got}, but this index has dimension ${dim}`);
  }
  if (patches && items.sampleIds?.length !== n) {
    throw new BrainError("INVALID_PARAMS", "A patch index needs the sample id of every label added");
  }
  for (let i = 0; i < items.vectors.length; i++) {
    if (!Number.isFinite(items.vectors[i])) {
      throw new BrainError("INVALID_DATA", `The embedding of '${items.ids[Math.floor(i / dim)]}' contains ${items.vectors[i]}`);
    }
  }
  return n;
}
