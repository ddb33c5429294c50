import { randomBytes } from "node:crypto";
import { loadBrainConfig, type BrainConfig, type Params } from "../config/brainConfig";
import { BrainError } from "../errors";
import { BACKEND_CATALOG } from "./backendCatalog";
import type { BackendContext, BackendSpec, CreateOptions, StoredIndex } from "./backends";
import { defaultIndexName } from "./indexNames";
import { LanceDbIndex, lanceDbOptionsFromParams } from "./lancedbIndex";
import { MilvusIndex, milvusOptionsFromParams } from "./milvusIndex";
import { PgvectorIndex, pgvectorOptionsFromParams } from "./pgvectorIndex";
import type { SimilarityIndex, SimilarityMetric } from "./similarityIndex";

/**
 * The external vector-database backends as registry entries: pgvector, LanceDB and Milvus.
 * Their vectors live in the database; the run stores where (table or collection name,
 * LanceDB folder, Milvus address) and the metric, never credentials: passwords, tokens and
 * connection strings come from the brain config whenever the index is opened.
 */

// Written out rather than imported: backends.ts imports this module.
const GENERIC_CONFIG_CLS = "fiftyone.core.brain.BrainMethodConfig";
const GENERIC_RESULTS_CLS = "fiftyone.core.runs.RunResults";

/** A fresh table name for a new run: readable, and unique so a leftover table is never reused by accident. */
function newIndexName(options: CreateOptions): string {
  const base = options.runName ? defaultIndexName(options.runName.dataset, options.runName.brainKey) : "brain_ts_index";
  return `${base.slice(0, 56)}_${randomBytes(3).toString("hex")}`;
}

/** The brain config's parameters of a backend (the job's, with the plugin's secrets, else FIFTYONE_BRAIN_SIMILARITY_<NAME>_<PARAM> and the JSON file). */
function configParams(name: string, config?: BrainConfig): Params {
  const params = { ...((config ?? loadBrainConfig()).similarity_backends[name] ?? {}) };
  delete params.config_cls;
  return params;
}

function storedString(stored: StoredIndex, key: string): string {
  const v = stored.config[key];
  if (typeof v !== "string" || v.length === 0) {
    throw new BrainError("INVALID_DATA", `This run has no '${key}'; it cannot be reopened. Delete it and compute the index again`);
  }
  return v;
}

function storedMetric(stored: StoredIndex): SimilarityMetric {
  const m = stored.config.metric;
  if (m !== "cosine" && m !== "euclidean" && m !== "dotproduct") throw new BrainError("INVALID_DATA", `This run's metric '${String(m)}' is not supported here`);
  return m;
}

/** After a failed first build: drop what `create` made, keep a table the user named and that existed. */
async function abandon(index: SimilarityIndex): Promise<void> {
  const external = index as PgvectorIndex | LanceDbIndex | MilvusIndex;
  if (external.created) await external.cleanup().catch(() => external.close());
  else await external.close();
}

const pgvectorBackend: BackendSpec = {
  ...BACKEND_CATALOG.pgvector,
  configCls: GENERIC_CONFIG_CLS,
  method: "pgvector",
  fieldBacked: false,
  abandon,
  async create(options) {
    const p = pgvectorOptionsFromParams(options.params);
    return PgvectorIndex.open({ ...p, tableName: p.tableName ?? newIndexName(options), metric: options.metric, dim: options.dim });
  },
  async persist(index) {
    const pg = index as PgvectorIndex;
    return { config: { metric: pg.metric, ...pg.describe() }, results: { cls: GENERIC_RESULTS_CLS } };
  },
  async load(stored, ctx) {
    return openPgvector(stored, ctx);
  },
  async cleanup(stored, ctx) {
    await (await openPgvector(stored, ctx)).cleanup();
  },
};

function openPgvector(stored: StoredIndex, ctx?: BackendContext): Promise<PgvectorIndex> {
  const fromConfig = pgvectorOptionsFromParams(configParams("pgvector", ctx?.brainConfig));
  const int = (key: string) => (typeof stored.config[key] === "number" ? (stored.config[key] as number) : undefined);
  return PgvectorIndex.open({
    connectionString: fromConfig.connectionString,
    tableName: storedString(stored, "table_name"),
    indexName: typeof stored.config.index_name === "string" ? stored.config.index_name : undefined,
    metric: storedMetric(stored),
    hnswM: int("hnsw_m"),
    hnswEfConstruction: int("hnsw_ef_construction"),
    hnswEfSearch: int("hnsw_ef_search"),
  });
}

const lancedbBackend: BackendSpec = {
  ...BACKEND_CATALOG.lancedb,
  configCls: GENERIC_CONFIG_CLS,
  method: "lancedb",
  fieldBacked: false,
  abandon,
  async create(options) {
    const p = lanceDbOptionsFromParams(options.params);
    return LanceDbIndex.open({ uri: p.uri, tableName: p.tableName ?? newIndexName(options), metric: options.metric, dim: options.dim });
  },
  async persist(index) {
    const lance = index as LanceDbIndex;
    return { config: { metric: lance.metric, ...lance.describe() }, results: { cls: GENERIC_RESULTS_CLS } };
  },
  async load(stored) {
    return openLanceDb(stored);
  },
  async cleanup(stored) {
    await (await openLanceDb(stored)).cleanup();
  },
};

function openLanceDb(stored: StoredIndex): Promise<LanceDbIndex> {
  return LanceDbIndex.open({ uri: storedString(stored, "uri"), tableName: storedString(stored, "table_name"), metric: storedMetric(stored) });
}

const milvusBackend: BackendSpec = {
  ...BACKEND_CATALOG.milvus,
  configCls: GENERIC_CONFIG_CLS,
  method: "milvus",
  fieldBacked: false,
  abandon,
  async create(options) {
    const p = milvusOptionsFromParams(options.params);
    return MilvusIndex.open({ ...p, collectionName: p.collectionName ?? newIndexName(options), metric: options.metric, dim: options.dim });
  },
  async persist(index) {
    const milvus = index as MilvusIndex;
    return { config: { metric: milvus.metric, ...milvus.describe() }, results: { cls: GENERIC_RESULTS_CLS } };
  },
  async load(stored, ctx) {
    return openMilvus(stored, ctx);
  },
  async cleanup(stored, ctx) {
    await (await openMilvus(stored, ctx)).cleanup();
  },
};

function openMilvus(stored: StoredIndex, ctx?: BackendContext): Promise<MilvusIndex> {
  const fromConfig = milvusOptionsFromParams(configParams("milvus", ctx?.brainConfig));
  const uri = typeof stored.config.uri === "string" ? stored.config.uri : fromConfig.uri;
  return MilvusIndex.open({ ...fromConfig, uri, collectionName: storedString(stored, "collection_name"), metric: storedMetric(stored) });
}

export const VECTOR_DB_BACKENDS: Record<string, BackendSpec> = {
  pgvector: pgvectorBackend,
  lancedb: lancedbBackend,
  milvus: milvusBackend,
};

