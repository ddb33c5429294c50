import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrainError } from "../errors";
import { BACKEND_ALIASES, BACKEND_CATALOG, BackendInfo, BackendParamInfo } from "./backendCatalog";
import { existsSync, readFileSync } from "node:fs";
import { BrainConfig, brainConfigPath, loadBrainConfig, parseEnvValue } from "../config/brainConfig";
import { ExactIndex } from "./exactIndex";
import { HnswIndex, HnswState } from "./hnswIndex";
import { IndexItems, SimilarityIndex, SimilarityMetric } from "./similarityIndex";
import { VECTOR_DB_BACKENDS } from "./vectorDbBackends";

/**
 * The similarity backends this runtime ships, by name, and how each is created,
 * stored with its brain run and reopened. Adding a backend = adding an entry to BACKENDS.
 *
 * `sklearn` (the reference's name, its runs' method) selects the exact backend, so
 * `FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND=sklearn` and
 * `FIFTYONE_BRAIN_SIMILARITY_SKLEARN_<PARAM>` configure both tools alike.
 */

/** Large binary state kept outside the run document (GridFS for FiftyOne runs). */
export interface BlobStore {
  /** Stores the file at `path`; returns its id. */
  putFile(path: string, name: string): Promise<string>;
  /** Copies a stored file to `path`. */
  getFile(id: string, path: string): Promise<void>;
  deleteFile(id: string): Promise<void>;
}

export interface BackendContext {
  store: BlobStore;
  /** Every item of the run's embeddings field over the whole dataset (for field-backed backends). */
  readFieldItems(): Promise<{ items: IndexItems; dim: number }>;
  /** The job's brain config (with the plugin's secrets): credentials of external backends when a run is reopened. */
  brainConfig?: BrainConfig;
}

export interface CreateOptions {
  metric: SimilarityMetric;
  dim: number;
  patches: boolean;
  /** Backend parameters (brain config merged with the caller's), validated by the backend. */
  params: Record<string, unknown>;
  /** Expected number of items (a capacity hint). */
  capacity?: number;
  /** The run the index is for (external backends name their table after it). */
  runName?: { dataset: string; brainKey: string };
}

export type BackendParamSpec = BackendParamInfo;

/** What a backend stores in the run: config attributes and a results document. */
export interface StoredIndex {
  config: Record<string, unknown>;
  results: Record<string, unknown> | null;
}

export interface BackendSpec extends BackendInfo {
  metrics: SimilarityMetric[];
  defaultMetric: SimilarityMetric;
  /** The run's config class and method (Python's classes where one fits). */
  configCls: string;
  method: string;
  /** Whether a run with an embeddings field indexes the whole dataset's field and stores no vectors (the reference's sklearn). */
  fieldBacked: boolean;
  create(options: CreateOptions, ctx: BackendContext): Promise<SimilarityIndex>;
  /** Writes the index's state; returns the run's backend config attributes and results. `previous` is what was stored before (to replace). */
  persist(index: SimilarityIndex, ctx: BackendContext, previous: StoredIndex | null): Promise<StoredIndex>;
  load(stored: StoredIndex, ctx: BackendContext): Promise<SimilarityIndex>;
  /** Undoes `create` after a failed first build: drops a table or collection it created, closes the index. */
  abandon?(index: SimilarityIndex): Promise<void>;
  /** Removes everything the backend stored outside the run (files, tables). */
  cleanup(stored: StoredIndex, ctx: BackendContext): Promise<void>;
}

export const SKLEARN_CONFIG_CLS = "fiftyone.brain.internal.core.sklearn.SklearnSimilarityConfig";
export const SKLEARN_RESULTS_CLS = "fiftyone.brain.internal.core.sklearn.SklearnSimilarityIndex";
export const GENERIC_CONFIG_CLS = "fiftyone.core.brain.BrainMethodConfig";
export const GENERIC_RESULTS_CLS = "fiftyone.core.runs.RunResults";


function metricOf(stored: StoredIndex): SimilarityMetric {
  const m = stored.config.metric;
  if (m !== "cosine" && m !== "euclidean" && m !== "dotproduct") {
    throw new BrainError("INVALID_DATA", `This run's metric '${String(m)}' is not supported here (cosine, euclidean, dotproduct)`);
  }
  return m;
}

/**
 * Exact search, stored as the reference's sklearn runs so Python loads and queries them:
 * with an embeddings field nothing but the class is stored and the vectors are re-read
 * from the field; without one the vectors and ids are stored as JSON lists.
 */
const exactBackend: BackendSpec = {
  ...BACKEND_CATALOG.exact,
  configCls: SKLEARN_CONFIG_CLS,
  method: "sklearn",
  fieldBacked: true,
  async create(options) {
    return new ExactIndex(options.metric, options.dim, options.patches);
  },
  async persist(index, _ctx, _previous) {
    const exact = index as ExactIndex;
    const config = { metric: exact.metric };
    if (fieldBackedIndexes.has(index)) return { config, results: { cls: SKLEARN_RESULTS_CLS, dim: exact.dim } };
    const all = await exact.getEmbeddings();
    const embeddings: number[][] = [];
    for (let i = 0; i < all.ids.length; i++) embeddings.push(Array.from(all.vectors.subarray(i * exact.dim, (i + 1) * exact.dim)));
    return {
      config,
      results: {
        cls: SKLEARN_RESULTS_CLS,
        embeddings,
        sample_ids: all.sampleIds ?? all.ids,
        label_ids: exact.isPatchIndex ? all.ids : null,
        dim: exact.dim,
      },
    };
  },
  async load(stored, ctx) {
    const metric = metricOf(stored);
    const patches = typeof stored.config.patches_field === "string";
    const results = stored.results ?? {};
    if (Array.isArray(results.embeddings)) {
      const rows = results.embeddings as number[][];
      const dim = rows.length ? rows[0].length : Number(results.dim);
      const index = new ExactIndex(metric, dim, patches);
      const sampleIds = results.sample_ids as string[];
      const labelIds = results.label_ids as string[] | null;
      const vectors = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => vectors.set(r, i * dim));
      await index.add({ ids: labelIds ?? sampleIds, ...(labelIds ? { sampleIds } : {}), vectors });
      return index;
    }
    const { items, dim } = await ctx.readFieldItems();
    const index = new ExactIndex(metric, dim || Number(results.dim) || 1, patches);
    await index.add(items);
    fieldBackedIndexes.add(index);
    return index;
  },
  async cleanup() {},
};

/** Exact indexes whose vectors live in an embeddings field (nothing to store). */
const fieldBackedIndexes = new WeakSet<SimilarityIndex>();

/** Marks an exact index as backed by its run's embeddings field. */
export function markFieldBacked(index: SimilarityIndex): void {
  fieldBackedIndexes.add(index);
}

/** hnswlib's binary index in the blob store (GridFS), its label → id map in the run's results. */
const hnswBackend: BackendSpec = {
  ...BACKEND_CATALOG.hnswlib,
  configCls: GENERIC_CONFIG_CLS,
  method: "hnswlib",
  fieldBacked: false,
  async create(options) {
    const p = options.params;
    return HnswIndex.create(
      options.metric,
      options.dim,
      {
        ...(p.m !== undefined ? { m: p.m as number } : {}),
        ...(p.ef_construction !== undefined ? { ef_construction: p.ef_construction as number } : {}),
        ...(p.ef !== undefined ? { ef: p.ef as number } : {}),
      },
      options.patches,
      options.capacity,
    );
  },
  async persist(index, ctx, previous) {
    const hnsw = index as HnswIndex;
    const dir = await mkdtemp(join(tmpdir(), "brain-ts-hnsw-"));
    try {
      const file = join(dir, "index.bin");
      const state = await hnsw.writeTo(file);
      const fileId = await ctx.store.putFile(file, "hnswlib-index.bin");
      // The previous file goes only once the new one is stored.
      const old = previous?.results?.index_file;
      if (typeof old === "string") await ctx.store.deleteFile(old).catch(() => undefined);
      return {
        config: { metric: hnsw.metric, m: state.params.m, ef_construction: state.params.ef_construction, ef: state.params.ef },
        results: { cls: GENERIC_RESULTS_CLS, index_file: fileId, state },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  async load(stored, ctx) {
    const results = stored.results;
    if (!results || typeof results.index_file !== "string" || !results.state) {
      throw new BrainError("INVALID_DATA", "This hnswlib run has no stored index; delete the run and compute it again");
    }
    const dir = await mkdtemp(join(tmpdir(), "brain-ts-hnsw-"));
    try {
      const file = join(dir, "index.bin");
      await ctx.store.getFile(results.index_file, file).catch((err: Error) => {
        throw new BrainError("INVALID_DATA", `The stored hnswlib index cannot be read (${err.message}); delete the run and compute it again`);
      });
      return await HnswIndex.readFrom(file, results.state as HnswState);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  async cleanup(stored, ctx) {
    const id = stored.results?.index_file;
    if (typeof id === "string") await ctx.store.deleteFile(id).catch(() => undefined);
  },
};

/** Every shipped backend by name; other backends add their entry here. */
export const BACKENDS: Record<string, BackendSpec> = {
  exact: exactBackend,
  hnswlib: hnswBackend,
  ...VECTOR_DB_BACKENDS,
};

/** Names accepted for a backend besides its own. */
const ALIASES = BACKEND_ALIASES;

export function getBackend(name: string): BackendSpec {
  const spec = BACKENDS[ALIASES[name] ?? name];
  if (!spec) {
    throw new BrainError("INVALID_PARAMS", `Unsupported backend '${name}'. The available backends are [${Object.keys(BACKENDS).join(", ")}]`);
  }
  return spec;
}

/** The backend of a stored run, by its config method. */
export function backendOfRun(config: { method?: unknown; cls?: unknown }): BackendSpec {
  const method = typeof config.method === "string" ? config.method : "";
  const spec = Object.values(BACKENDS).find((b) => b.method === method);
  if (!spec) throw new BrainError("INVALID_PARAMS", `Similarity runs of backend '${method}' are not supported here. Supported: ${Object.keys(BACKENDS).join(", ")}`);
  return spec;
}

function brainConfigJson(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const path = brainConfigPath(env);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    return {}; // loadBrainConfig reports an unreadable file
  }
}

/**
 * The default backend: the brain config's, when it is one shipped here, else exact. The
 * configured name is read as given (env, then JSON): the reference's config only knows its
 * own builtins and would replace a name such as `hnswlib` by another available one.
 */
export function defaultBackendName(env: NodeJS.ProcessEnv = process.env, config?: BrainConfig): string {
  const json = brainConfigJson(env).default_similarity_backend;
  const configured =
    env.FIFTYONE_BRAIN_DEFAULT_SIMILARITY_BACKEND || (typeof json === "string" ? json : null) || (config ?? loadBrainConfig(env)).default_similarity_backend;
  const name = configured ? (ALIASES[configured] ?? configured) : "exact";
  return BACKENDS[name] ? name : "exact";
}

/** A backend's brain-config parameters; backends the reference does not know are read the same way (JSON entry, then env vars). */
function configuredParams(name: string, env: NodeJS.ProcessEnv, config: BrainConfig): Record<string, unknown> {
  const known = config.similarity_backends[name];
  if (known) return { ...known };
  const fromJson = (brainConfigJson(env).similarity_backends as Record<string, Record<string, unknown>> | undefined)?.[name] ?? {};
  const params: Record<string, unknown> = { ...fromJson };
  const prefix = `FIFTYONE_BRAIN_SIMILARITY_${name.toUpperCase()}_`;
  for (const [k, v] of Object.entries(env)) if (k.startsWith(prefix) && v !== undefined) params[k.slice(prefix.length).toLowerCase()] = parseEnvValue(v);
  return params;
}

/**
 * A backend's parameters: the brain config's for it (FIFTYONE_BRAIN_SIMILARITY_<BACKEND>_<PARAM>,
 * the JSON file), overridden by the caller's. `config_cls` is not a parameter.
 */
export function resolveBackendParams(
  backend: string,
  given: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  /** The job's brain config (with the plugin's secrets), else read from `env`. */
  config: BrainConfig = loadBrainConfig(env),
): Record<string, unknown> {
  const spec = getBackend(backend);
  // The brain config names the exact backend by the reference's name (sklearn).
  const fromConfig = { ...configuredParams(spec.method, env, config), ...(spec.method !== spec.name ? configuredParams(spec.name, env, config) : {}) };
  delete fromConfig.config_cls;
  const merged: Record<string, unknown> = { ...fromConfig };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && v !== null && v !== "") merged[k] = v;
  return merged;
}

/** Creates an empty index of a backend with resolved parameters. */
export async function createIndex(backend: string, options: CreateOptions, ctx: BackendContext): Promise<SimilarityIndex> {
  const spec = getBackend(backend);
  if (!spec.metrics.includes(options.metric)) {
    throw new BrainError("INVALID_PARAMS", `The ${spec.name} backend does not support the metric '${options.metric}'; use ${spec.metrics.join(", ")}`);
  }
  return spec.create(options, ctx);
}

/** Reopens a stored run's index. */
export async function loadIndex(stored: StoredIndex, ctx: BackendContext): Promise<SimilarityIndex> {
  return backendOfRun(stored.config).load(stored, ctx);
}
