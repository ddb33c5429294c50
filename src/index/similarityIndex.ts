/**
 * The one interface every similarity backend implements (exact, hnswlib, pgvector, LanceDB, …).
 * Pure runtime: vectors in, ids and distances out; nothing here knows FiftyOne's database.
 *
 * Items are identified by `id` (the sample id, or the label id for patch indexes); `sampleIds`
 * maps each item to its sample so patch results can be grouped by sample.
 */
export type SimilarityMetric = "cosine" | "euclidean" | "dotproduct";

/** Items to add: `ids.length` rows of `dim` floats, row-major. */
export interface IndexItems {
  ids: string[];
  /** For patch indexes, the sample each label belongs to (same length as `ids`); omitted for sample indexes. */
  sampleIds?: string[];
  vectors: Float32Array;
}

export interface AddOptions {
  /**
   * true (default): ids already in the index are replaced in place, new ids appended.
   * false: ids already in the index are left as they are and skipped (reported in the result).
   */
  overwrite?: boolean;
}

export interface AddResult {
  added: number;
  replaced: number;
  skipped: number;
}

export interface QueryOptions {
  /** Number of results per query; undefined = all (backends with a `maxK` refuse more). */
  k?: number;
  /** Least similar first (only backends with `supportsLeastSimilarity`). */
  reverse?: boolean;
  /** Only items whose id is in this set are returned (the current view). */
  restrictTo?: ReadonlySet<string>;
}

/** One query's results, most similar first (or least similar first with `reverse`). */
export interface QueryResult {
  ids: string[];
  /** Distance of each result under the index's metric (smaller = more similar; see README for per-backend meaning). */
  distances: Float32Array;
}

export interface IndexCapabilities {
  /** Largest k a query may ask for; undefined = no limit. */
  maxK?: number;
  supportsLeastSimilarity: boolean;
  /** Whether full-index k-NN / radius queries (duplicates, uniqueness) are supported. */
  supportsFullIndexQueries: boolean;
  /** The index keeps each vector L2-normalised, not as given (hnswlib's cosine space): getEmbeddings returns unit vectors. */
  storesUnitVectors?: boolean;
}

export interface SimilarityIndex {
  /** Backend name as users and the brain config spell it: "exact", "hnswlib", "pgvector", "lancedb". */
  readonly backend: string;
  readonly metric: SimilarityMetric;
  readonly dim: number;
  readonly capabilities: IndexCapabilities;

  /** Number of items in the index. */
  size(): Promise<number>;
  add(items: IndexItems, options?: AddOptions): Promise<AddResult>;
  /** Removes the given item ids; unknown ids are ignored. Returns how many were removed. */
  remove(ids: string[]): Promise<number>;
  /** Vectors of the given ids (in the given order, unknown ids dropped), or of every item. */
  getEmbeddings(ids?: string[]): Promise<IndexItems>;
  /** k-NN for each query vector (`queries` is `q × dim`, row-major). */
  query(queries: Float32Array, options?: QueryOptions): Promise<QueryResult[]>;
  /** Persists pending changes (no-op for backends that write through). */
  save(): Promise<void>;
  /** Releases in-memory resources; the stored index stays. */
  close(): Promise<void>;
  /** Deletes the stored index (external tables, files). */
  cleanup(): Promise<void>;
}
