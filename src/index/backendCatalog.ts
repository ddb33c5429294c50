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
};

/** The reference's name for the exact backend (its runs' method, the brain config's default). */
export const BACKEND_ALIASES: Record<string, string> = { sklearn: "exact" };
