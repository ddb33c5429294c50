/**
 * What users choose from when they build a similarity index: each shipped backend's name,
 * metrics and parameters. No runtime code here, so the App's forms import it too; the
 * runtime's registry (backends.ts) adds how each backend works. A backend is offered in
 * the forms exactly when it has an entry here and in backends.ts's BACKENDS.
 */
export type CatalogMetric = "cosine" | "euclidean" | "dotproduct";

export interface BackendParamInfo {
  name: string;
  type: "integer" | "number" | "string" | "boolean";
  default?: number | string | boolean;
  label: string;
  description: string;
  /** Secrets (passwords, keys) are never stored with the run nor logged. */
  secret?: boolean;
}

export interface BackendInfo {
  /** Name users and the brain config use. */
  name: string;
  label: string;
  description: string;
  metrics: CatalogMetric[];
  defaultMetric: CatalogMetric;
  params: BackendParamInfo[];
  supportsLeastSimilarity: boolean;
}

const ALL_METRICS: CatalogMetric[] = ["cosine", "euclidean", "dotproduct"];

export const BACKEND_CATALOG: Record<string, BackendInfo> = {
  exact: {
    name: "exact",
    label: "Exact (brute force)",
    description: "Exact nearest neighbours in memory, as the reference's sklearn backend (Python reads these runs as its own). Up to a few hundred thousand items.",
    metrics: ALL_METRICS,
    defaultMetric: "cosine",
    params: [],
    supportsLeastSimilarity: true,
  },
  hnswlib: {
    name: "hnswlib",
    label: "hnswlib (approximate)",
    description: "Approximate nearest neighbours on an HNSW graph, stored with the run in FiftyOne's database. For large indexes; no least-similar queries.",
    metrics: ALL_METRICS,
    defaultMetric: "cosine",
    params: [
      { name: "m", type: "integer", default: 16, label: "M", description: "Links per node of the graph: higher = better recall, more memory" },
      { name: "ef_construction", type: "integer", default: 200, label: "ef construction", description: "Search breadth while building: higher = better graph, slower build" },
      { name: "ef", type: "integer", default: 100, label: "ef (search)", description: "Search breadth of queries (raised to k): higher = better recall, slower queries" },
    ],
    supportsLeastSimilarity: false,
  },
  pgvector: {
    name: "pgvector",
    label: "pgvector (PostgreSQL)",
    description:
      "A table with an HNSW index in a PostgreSQL database with the pgvector extension. The connection string comes from the brain config (FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING).",
    metrics: ALL_METRICS,
    defaultMetric: "cosine",
    params: [
      { name: "table_name", type: "string", label: "Table name", description: "Table to create or reuse (an existing table keeps its rows); default: a new table named `brain_ts_<dataset>_<brain key>_<random>`" },
      { name: "hnsw_m", type: "integer", default: 16, label: "HNSW m", description: "Links per node of pgvector's HNSW graph" },
      { name: "hnsw_ef_construction", type: "integer", default: 64, label: "HNSW ef construction", description: "Search breadth while building the graph" },
      { name: "hnsw_ef_search", type: "integer", default: 40, label: "HNSW ef search", description: "Search breadth of queries (raised to k)" },
    ],
    supportsLeastSimilarity: false,
  },
  lancedb: {
    name: "lancedb",
    label: "LanceDB (embedded)",
    description: "A LanceDB table in a local folder (default: the plugin's .cache/lancedb) or an object-storage URI; exact search.",
    metrics: ALL_METRICS,
    defaultMetric: "cosine",
    params: [
      { name: "table_name", type: "string", label: "Table name", description: "Table to create or reuse (an existing table keeps its rows); default: a new table named `brain_ts_<dataset>_<brain key>_<random>`" },
      { name: "uri", type: "string", label: "Database URI", description: "Folder or URI of the LanceDB database (default: the plugin's .cache/lancedb)" },
    ],
    supportsLeastSimilarity: false,
  },
  milvus: {
    name: "milvus",
    label: "Milvus",
    description: "A Milvus collection with an HNSW index, over Milvus's gRPC API. Address and credentials come from the brain config (FIFTYONE_BRAIN_SIMILARITY_MILVUS_URI, _USER, _PASSWORD, _TOKEN).",
    metrics: ALL_METRICS,
    defaultMetric: "dotproduct",
    params: [
      { name: "collection_name", type: "string", label: "Collection name", description: "Collection to create or reuse; default: a new collection named `brain_ts_<dataset>_<brain key>_<random>`" },
      { name: "uri", type: "string", label: "Server address", description: "host:port of the Milvus server (default: the brain config's)" },
    ],
    supportsLeastSimilarity: false,
  },
};

/** The reference's name for the exact backend (its runs' method, the brain config's default). */
export const BACKEND_ALIASES: Record<string, string> = { sklearn: "exact" };
