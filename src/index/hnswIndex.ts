import { HierarchicalNSW, SpaceName } from "hnswlib-node";
import { BrainError } from "../errors";
import { checkItems } from "./exactIndex";
import { AddOptions, AddResult, IndexCapabilities, IndexItems, QueryOptions, QueryResult, SimilarityIndex, SimilarityMetric } from "./similarityIndex";

/**
 * Approximate k-NN with hnswlib (hnswlib-node). Parameters are named as in hnswlib:
 * `m` (graph degree, M), `ef_construction`, `ef` (search breadth; raised to k when smaller).
 * Items get integer labels; removal marks them deleted and their slots are reused by
 * later additions. Distances: cosine = 1 − cos, euclidean = √(hnswlib's squared L2),
 * dotproduct = 1 − ⟨q, x⟩.
 */
export interface HnswParams {
  m: number;
  ef_construction: number;
  ef: number;
  /** Seed of hnswlib's level generator (reproducible builds). */
  random_seed: number;
}

export const DEFAULT_HNSW_PARAMS: HnswParams = { m: 16, ef_construction: 200, ef: 100, random_seed: 100 };

const SPACES: Record<SimilarityMetric, SpaceName> = { cosine: "cosine", euclidean: "l2", dotproduct: "ip" };

const CAPABILITIES: IndexCapabilities = { supportsLeastSimilarity: false, supportsFullIndexQueries: false };

/** What, besides hnswlib's own file, is needed to reopen an index. */
export interface HnswState {
  params: HnswParams;
  metric: SimilarityMetric;
  dim: number;
  /** Item id of each hnswlib label; null for deleted labels. */
  labels: (string | null)[];
  /** Sample of each label (patch indexes). */
  labelSamples?: (string | null)[];
}

export class HnswIndex implements SimilarityIndex {
  readonly backend = "hnswlib";
  /** hnswlib's cosine space normalises vectors as they are added. */
  get capabilities(): IndexCapabilities {
    return this.metric === "cosine" ? { ...CAPABILITIES, storesUnitVectors: true } : CAPABILITIES;
  }
  private labels: (string | null)[] = [];
  private labelSamples: (string | null)[] | undefined;
  private byId = new Map<string, number>();

  private constructor(
    readonly metric: SimilarityMetric,
    readonly dim: number,
    readonly params: HnswParams,
    private hnsw: HierarchicalNSW,
    patches: boolean,
  ) {
    if (patches) this.labelSamples = [];
  }

  static create(metric: SimilarityMetric, dim: number, params: Partial<HnswParams> = {}, patches = false, capacity = 1024): HnswIndex {
    const p = checkParams({ ...DEFAULT_HNSW_PARAMS, ...params });
    if (!(metric in SPACES)) throw new BrainError("INVALID_PARAMS", `Unsupported metric '${metric}' for hnswlib: use cosine, euclidean or dotproduct`);
    if (!Number.isInteger(dim) || dim < 1) throw new BrainError("INVALID_PARAMS", `An index needs a positive dimension; got ${dim}`);
    const hnsw = new HierarchicalNSW(SPACES[metric], dim);
    hnsw.initIndex({ maxElements: Math.max(16, capacity), m: p.m, efConstruction: p.ef_construction, randomSeed: p.random_seed, allowReplaceDeleted: true });
    hnsw.setEf(p.ef);
    return new HnswIndex(metric, dim, p, hnsw, patches);
  }

  /** Reopens an index written by `writeTo` with its state. */
  static async readFrom(path: string, state: HnswState): Promise<HnswIndex> {
    const hnsw = new HierarchicalNSW(SPACES[state.metric], state.dim);
    try {
      await hnsw.readIndex(path, true);
    } catch (err) {
      throw new BrainError("INVALID_DATA", `The stored hnswlib index is unreadable (${(err as Error).message}); delete the run and compute it again`);
    }
    const index = new HnswIndex(state.metric, state.dim, checkParams(state.params), hnsw, state.labelSamples !== undefined);
    hnsw.setEf(index.params.ef);
    index.labels = state.labels;
    index.labelSamples = state.labelSamples;
    state.labels.forEach((id, label) => {
      if (id !== null) index.byId.set(id, label);
    });
    if (hnsw.getCurrentCount() !== state.labels.length) {
      throw new BrainError("INVALID_DATA", `The stored hnswlib index has ${hnsw.getCurrentCount()} slots but its run lists ${state.labels.length}; delete the run and compute it again`);
    }
    return index;
  }

  async writeTo(path: string): Promise<HnswState> {
    await this.hnsw.writeIndex(path);
    return this.state();
  }

  state(): HnswState {
    return {
      params: this.params,
      metric: this.metric,
      dim: this.dim,
      labels: this.labels,
      ...(this.labelSamples ? { labelSamples: this.labelSamples } : {}),
    };
  }

  async size(): Promise<number> {
    return this.byId.size;
  }

  async add(items: IndexItems, options: AddOptions = {}): Promise<AddResult> {
    const n = checkItems(items, this.dim, this.labelSamples !== undefined);
    const overwrite = options.overwrite ?? true;
    const result: AddResult = { added: 0, replaced: 0, skipped: 0 };
    const needed = this.hnsw.getCurrentCount() + n;
    if (needed > this.hnsw.getMaxElements()) this.hnsw.resizeIndex(Math.max(needed, 2 * this.hnsw.getMaxElements()));
    for (let i = 0; i < n; i++) {
      const id = items.ids[i];
      const point = items.vectors.subarray(i * this.dim, (i + 1) * this.dim);
      const existing = this.byId.get(id);
      if (existing !== undefined && !overwrite) {
        result.skipped++;
        continue;
      }
      // hnswlib updates a label's vector in place when it is added again.
      const label = existing ?? this.labels.length;
      this.hnsw.addPoint(point, label, false);
      if (existing === undefined) {
        this.labels.push(id);
        this.labelSamples?.push(items.sampleIds![i]);
        this.byId.set(id, label);
        result.added++;
      } else {
        if (this.labelSamples) this.labelSamples[label] = items.sampleIds![i];
        result.replaced++;
      }
    }
    return result;
  }

  async remove(ids: string[]): Promise<number> {
    let removed = 0;
    for (const id of new Set(ids)) {
      const label = this.byId.get(id);
      if (label === undefined) continue;
      this.hnsw.markDelete(label);
      this.labels[label] = null;
      if (this.labelSamples) this.labelSamples[label] = null;
      this.byId.delete(id);
      removed++;
    }
    return removed;
  }

  async getEmbeddings(ids?: string[]): Promise<IndexItems> {
    const wanted = (ids ?? [...this.byId.keys()]).filter((id) => this.byId.has(id));
    const vectors = new Float32Array(wanted.length * this.dim);
    wanted.forEach((id, i) => vectors.set(this.hnsw.getPoint(this.byId.get(id)!), i * this.dim));
    return {
      ids: wanted,
      ...(this.labelSamples ? { sampleIds: wanted.map((id) => this.labelSamples![this.byId.get(id)!]!) } : {}),
      vectors,
    };
  }

  /** The sample of an item (patch indexes), else the item itself. */
  sampleOf(id: string): string | undefined {
    const label = this.byId.get(id);
    if (label === undefined) return undefined;
    return this.labelSamples ? this.labelSamples[label] ?? undefined : id;
  }

  async query(queries: Float32Array, options: QueryOptions = {}): Promise<QueryResult[]> {
    if (options.reverse) throw new BrainError("INVALID_PARAMS", "The hnswlib backend does not support least-similarity queries (reverse)");
    if (queries.length === 0 || queries.length % this.dim !== 0) {
      throw new BrainError("INVALID_PARAMS", `Query vectors must have ${this.dim} values each (this index's dimension); got ${queries.length} values`);
    }
    const restrict = options.restrictTo;
    let available = this.byId.size;
    if (restrict) {
      available = 0;
      for (const id of restrict) if (this.byId.has(id)) available++;
    }
    const k = Math.min(options.k ?? available, available);
    const results: QueryResult[] = [];
    const filter = restrict ? (label: number) => {
      const id = this.labels[label];
      return id !== null && restrict.has(id);
    } : undefined;
    for (let q = 0; q < queries.length / this.dim; q++) {
      if (k === 0) {
        results.push({ ids: [], distances: new Float32Array(0) });
        continue;
      }
      const point = queries.subarray(q * this.dim, (q + 1) * this.dim);
      const { neighbors, distances } = this.hnsw.searchKnn(point, k, filter);
      results.push({
        ids: neighbors.map((l) => this.labels[l]!),
        distances: Float32Array.from(distances, (d) => (this.metric === "euclidean" ? Math.sqrt(Math.max(0, d)) : d)),
      });
    }
    return results;
  }

  async save(): Promise<void> {}

  async close(): Promise<void> {}

  async cleanup(): Promise<void> {}
}

/** The parameters, checked (integers in range), without extra keys. */
export function checkParams(p: HnswParams): HnswParams {
  for (const [name, min] of [["m", 2], ["ef_construction", 1], ["ef", 1], ["random_seed", 0]] as const) {
    const v = p[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new BrainError("INVALID_PARAMS", `hnswlib parameter '${name}' must be an integer ≥ ${min}; got ${JSON.stringify(v)}`);
    }
  }
  return { m: p.m, ef_construction: p.ef_construction, ef: p.ef, random_seed: p.random_seed };
}
