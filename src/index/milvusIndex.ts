import { ConsistencyLevelEnum, DataType, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { loadBrainConfig, type Params } from "../config/brainConfig";
import { BrainError } from "../errors";
import { checkItems, checkQueries, resolveK } from "./indexInput";
import type {
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
 * Milvus over its gRPC API: one collection per index with the fields fiftyone-brain's
 * Milvus backend uses (`pk` VarChar primary key, `vector`, `sample_id`) and an HNSW index
 * (M 8, efConstruction 64, as the reference).
 *
 * Milvus has no transactions: each add is validated completely first, sent in chunks, and
 * if a chunk fails the rows that this add newly inserted are deleted again (rows it
 * overwrote keep their new vectors).
 *
 * Distances are in metric units, converted from Milvus's scores: cosine 1 − cos (Milvus
 * returns cos), euclidean the L2 distance (Milvus returns its square), dotproduct 1 − x·q
 * (Milvus returns x·q; 1 − x·q is the convention of the other backends).
 */
export interface MilvusOptions {
  /** host:port or http(s)://host:port; defaults to the brain config's `uri`. */
  uri?: string;
  user?: string;
  password?: string;
  token?: string;
  collectionName: string;
  metric?: SimilarityMetric;
  /** Required to create the collection; read from an existing one otherwise. */
  dim?: number;
  /** HNSW search list size; raised to k for each query (default 64). */
  ef?: number;
}

const METRIC_TYPES: Record<SimilarityMetric, "COSINE" | "L2" | "IP"> = { cosine: "COSINE", euclidean: "L2", dotproduct: "IP" };
/** Milvus's limit on topk and on query windows. */
const MAX_K = 16384;
/** Rows per insert/upsert request (well under Milvus's 64 MB gRPC messages at 2048 dims). */
const CHUNK = 2000;
/** Ids per `pk in [...]` expression. */
const ID_CHUNK = 5000;
const MAX_ID_LENGTH = 65535;

/** Options from brain-config style parameters (`uri`, `user`, `password`, `token`, `collection_name`, `metric`). */
export function milvusOptionsFromParams(params: Params): Partial<MilvusOptions> {
  const str = (key: string): string | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v.map(String).join(",");
    if (typeof v !== "string" && typeof v !== "number") throw new BrainError("INVALID_PARAMS", `milvus parameter '${key}' must be a string`);
    return String(v);
  };
  const metric = str("metric");
  if (metric !== undefined && !(metric in METRIC_TYPES)) {
    throw new BrainError("INVALID_PARAMS", `Unsupported milvus metric '${metric}'. Supported values are cosine, dotproduct, euclidean`);
  }
  return {
    uri: str("uri"),
    user: str("user"),
    password: str("password"),
    token: str("token"),
    collectionName: str("collection_name"),
    metric: metric as SimilarityMetric | undefined,
  };
}

/** A Milvus string literal. */
function literal(value: string): string {
  return JSON.stringify(value);
}

function pkIn(ids: readonly string[]): string {
  return `pk in [${ids.map(literal).join(",")}]`;
}

function chunks<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

interface Status {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

export class MilvusIndex implements SimilarityIndex {
  readonly backend = "milvus";
  readonly capabilities: IndexCapabilities = { maxK: MAX_K, supportsLeastSimilarity: false, supportsFullIndexQueries: false };
  private readonly collection: string;
  /** Whether `open` created the collection (a failed first build removes only what it created). */
  created = false;

  private constructor(
    private readonly client: MilvusClient,
    private readonly options: MilvusOptions,
    readonly metric: SimilarityMetric,
    readonly dim: number,
    private readonly secrets: string[],
  ) {
    this.collection = options.collectionName;
  }

  static async open(options: MilvusOptions): Promise<MilvusIndex> {
    const metric = options.metric ?? "dotproduct";
    if (!(metric in METRIC_TYPES)) {
      throw new BrainError("INVALID_PARAMS", `Unsupported milvus metric '${metric}'. Supported values are cosine, dotproduct, euclidean`);
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(options.collectionName ?? "")) {
      throw new BrainError("INVALID_PARAMS", `Invalid Milvus collection name '${options.collectionName}': letters, digits and _, not starting with a digit`);
    }
    const configured = milvusOptionsFromParams(loadBrainConfig().similarity_backends.milvus ?? {});
    const uri = options.uri ?? configured.uri;
    if (!uri) {
      throw new BrainError("INVALID_PARAMS", "No Milvus address: set FIFTYONE_BRAIN_SIMILARITY_MILVUS_URI or `uri` under similarity_backends.milvus in the brain config");
    }
    const user = options.user ?? configured.user;
    const password = options.password ?? configured.password;
    const token = options.token ?? configured.token;
    const secrets = [password, token].filter((s): s is string => typeof s === "string" && s.length > 0);
    const address = uri.replace(/^https?:\/\//, "");
    let client: MilvusClient;
    try {
      client = new MilvusClient({
        address,
        ssl: uri.startsWith("https://"),
        username: user,
        password,
        token,
        timeout: 15000,
        maxRetries: 1,
        logLevel: "error",
        // The client's default 10 s keepalive pings, even while idle, make servers with gRPC's
        // default ping policy (Milvus Lite's) drop the connection ("excess pings").
        channelOptions: { "grpc.keepalive_time_ms": 300000, "grpc.keepalive_permit_without_calls": 0 },
      });
      await client.connectPromise;
      await client.getVersion();
    } catch (err) {
      throw new BrainError("BACKEND_UNAVAILABLE", `Cannot reach the Milvus server at ${address}: ${scrub(describe(err), secrets)}`);
    }
    try {
      const exists = (await client.hasCollection({ collection_name: options.collectionName })).value === true;
      let dim: number;
      if (exists) {
        const described = await client.describeCollection({ collection_name: options.collectionName });
        check(described.status, "describe the collection");
        const vector = described.schema.fields.find((f) => f.name === "vector");
        const found = Number(vector?.type_params?.find((p) => p.key === "dim")?.value ?? NaN);
        if (!Number.isInteger(found)) {
          throw new BrainError("INVALID_DATA", `The Milvus collection '${options.collectionName}' has no 'vector' field; it was not made by this plugin`);
        }
        if (options.dim !== undefined && options.dim !== found) {
          throw new BrainError("INVALID_DATA", `The Milvus collection '${options.collectionName}' holds ${found}-dimensional vectors, not ${options.dim}`);
        }
        dim = found;
      } else {
        if (options.dim === undefined || !Number.isInteger(options.dim) || options.dim < 1) {
          throw new BrainError("INVALID_PARAMS", `The Milvus collection '${options.collectionName}' does not exist; its vector dimension is needed to create it`);
        }
        dim = options.dim;
        check(
          await client.createCollection({
            collection_name: options.collectionName,
            consistency_level: "Session",
            fields: [
              { name: "pk", data_type: DataType.VarChar, is_primary_key: true, autoID: false, max_length: MAX_ID_LENGTH },
              { name: "vector", data_type: DataType.FloatVector, dim },
              { name: "sample_id", data_type: DataType.VarChar, max_length: MAX_ID_LENGTH },
            ],
          }),
          "create the collection",
        );
        check(
          await client.createIndex({
            collection_name: options.collectionName,
            field_name: "vector",
            index_type: "HNSW",
            metric_type: METRIC_TYPES[metric],
            params: { M: 8, efConstruction: 64 },
          }),
          "create the HNSW index",
        );
      }
      check(await client.loadCollectionSync({ collection_name: options.collectionName }), "load the collection");
      const index = new MilvusIndex(client, { ...options, uri }, metric, dim, secrets);
      index.created = !exists;
      return index;
    } catch (err) {
      await client.closeConnection().catch(() => undefined);
      if (err instanceof BrainError) throw err;
      throw new BrainError("BACKEND_UNAVAILABLE", `Milvus collection '${options.collectionName}': ${scrub(describe(err), secrets)}`);
    }
  }

  /** Where the index lives (stored with a run; never the credentials). */
  describe(): { collection_name: string; uri: string } {
    return { collection_name: this.collection, uri: this.options.uri ?? "" };
  }

  size(): Promise<number> {
    return this.guard(async () => {
      const result = await this.client.count({ collection_name: this.collection });
      check(result.status, "count");
      return Number(result.data);
    });
  }

  async add(items: IndexItems, options: AddOptions = {}): Promise<AddResult> {
    checkItems(this.backend, this.dim, items);
    for (const id of items.ids) {
      if (id.length > MAX_ID_LENGTH) throw new BrainError("INVALID_DATA", `Milvus ids are at most ${MAX_ID_LENGTH} characters`);
    }
    const overwrite = options.overwrite ?? true;
    return this.guard(async () => {
      const existing = await this.existing(items.ids);
      const result: AddResult = { added: 0, replaced: 0, skipped: 0 };
      const inserted: string[] = [];
      try {
        const rows = items.ids
          .map((id, i) => ({ i, id }))
          .filter(({ id }) => overwrite || !existing.has(id))
          .map(({ i, id }) => ({
            pk: id,
            sample_id: items.sampleIds?.[i] ?? id,
            vector: Array.from(items.vectors.subarray(i * this.dim, (i + 1) * this.dim)),
          }));
        for (const chunk of chunks(rows, CHUNK)) {
          const response = await this.client.upsert({ collection_name: this.collection, data: chunk });
          check(response.status, "write vectors");
          for (const row of chunk) {
            if (existing.has(row.pk)) result.replaced++;
            else {
              result.added++;
              inserted.push(row.pk);
            }
          }
        }
        result.skipped = items.ids.length - result.added - result.replaced;
        return result;
      } catch (err) {
        for (const chunk of chunks(inserted, ID_CHUNK)) {
          await this.client.delete({ collection_name: this.collection, filter: pkIn(chunk) }).catch(() => undefined);
        }
        throw err;
      }
    });
  }

  remove(ids: string[]): Promise<number> {
    return this.guard(async () => {
      // Milvus counts every requested key as deleted, present or not; count the present ones.
      const present = [...(await this.existing(ids))];
      for (const chunk of chunks(present, ID_CHUNK)) {
        check((await this.client.delete({ collection_name: this.collection, filter: pkIn(chunk) })).status, "delete vectors");
      }
      return present.length;
    });
  }

  getEmbeddings(ids?: string[]): Promise<IndexItems> {
    return this.guard(async () => {
      const found = new Map<string, { sampleId: string; vector: number[] }>();
      const take = (rows: Record<string, unknown>[]) => {
        for (const r of rows) found.set(String(r.pk), { sampleId: String(r.sample_id ?? r.pk), vector: r.vector as number[] });
      };
      if (ids === undefined) {
        const iterator = (await this.client.queryIterator({
          collection_name: this.collection,
          batchSize: 1000,
          output_fields: ["pk", "sample_id", "vector"],
          consistency_level: ConsistencyLevelEnum.Strong,
        })) as AsyncIterable<Record<string, unknown>[]>;
        for await (const batch of iterator) take(batch);
      } else {
        for (const chunk of chunks([...new Set(ids)], ID_CHUNK)) {
          const result = await this.client.query({
            collection_name: this.collection,
            filter: pkIn(chunk),
            output_fields: ["pk", "sample_id", "vector"],
            limit: chunk.length,
            consistency_level: ConsistencyLevelEnum.Strong,
          });
          check(result.status, "read vectors");
          take(result.data);
        }
      }
      const order = ids === undefined ? [...found.keys()].sort() : ids.filter((id) => found.has(id));
      const vectors = new Float32Array(order.length * this.dim);
      order.forEach((id, i) => vectors.set(found.get(id)!.vector, i * this.dim));
      const out: IndexItems = { ids: order, vectors };
      if (order.some((id) => found.get(id)!.sampleId !== id)) out.sampleIds = order.map((id) => found.get(id)!.sampleId);
      return out;
    });
  }

  async query(queries: Float32Array, options: QueryOptions = {}): Promise<QueryResult[]> {
    const count = checkQueries(this.backend, this.dim, queries);
    return this.guard(async () => {
      const total = await this.size();
      const view = options.restrictTo === undefined ? undefined : [...options.restrictTo];
      const candidates = view === undefined ? total : (await this.existing(view)).size;
      const k = resolveK(this.backend, this.capabilities, options, candidates);
      // A view that leaves out few rows is searched unfiltered, over-fetching by the rows it
      // leaves out (then dropped here), when that stays within Milvus's topk limit; otherwise
      // the view is a `pk in [...]` filter.
      const overfetch = view !== undefined && view.length * 2 > total && k + (total - candidates) <= MAX_K;
      const filter = view !== undefined && !overfetch ? pkIn(view) : undefined;
      const limit = overfetch ? Math.min(total, k + (total - candidates)) : k;
      const results: QueryResult[] = [];
      for (let q = 0; q < count; q++) {
        let hits: { id: string; score: number }[] = [];
        if (k > 0) {
          const response = await this.client.search({
            collection_name: this.collection,
            anns_field: "vector",
            data: Array.from(queries.subarray(q * this.dim, (q + 1) * this.dim)),
            limit,
            filter,
            output_fields: ["pk"],
            metric_type: METRIC_TYPES[this.metric],
            params: { ef: Math.min(MAX_K, Math.max(this.options.ef ?? 64, limit)) },
            consistency_level: ConsistencyLevelEnum.Strong,
          });
          check(response.status, "search");
          // The client names each hit's key after the primary field (`pk`).
          hits = (response.results as { pk?: string; id?: string; score: number }[]).map((h) => ({ id: String(h.pk ?? h.id), score: h.score }));
          if (overfetch) hits = hits.filter((h) => options.restrictTo!.has(h.id)).slice(0, k);
        }
        results.push({ ids: hits.map((h) => h.id), distances: Float32Array.from(hits, (h) => this.toDistance(h.score)) });
      }
      return results;
    });
  }

  async save(): Promise<void> {
    // Writes are sent as they happen; Milvus persists them itself.
  }

  async close(): Promise<void> {
    await this.client.closeConnection().catch(() => undefined);
  }

  /** Drops the collection (and its index), then closes the connection. */
  cleanup(): Promise<void> {
    return this.guard(async () => {
      check(await this.client.dropCollection({ collection_name: this.collection }), "drop the collection");
      await this.close();
    });
  }

  /** The subset of `ids` present in the collection. */
  private async existing(ids: readonly string[]): Promise<Set<string>> {
    const present = new Set<string>();
    for (const chunk of chunks([...new Set(ids)], ID_CHUNK)) {
      const result = await this.client.query({
        collection_name: this.collection,
        filter: pkIn(chunk),
        output_fields: ["pk"],
        limit: chunk.length,
        consistency_level: ConsistencyLevelEnum.Strong,
      });
      check(result.status, "look up ids");
      for (const r of result.data) present.add(String(r.pk));
    }
    return present;
  }

  private toDistance(score: number): number {
    if (this.metric === "euclidean") return Math.sqrt(Math.max(0, score));
    return 1 - score;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof BrainError) throw err;
      const message = scrub(describe(err), this.secrets);
      const code = (err as { code?: unknown }).code;
      // gRPC 14 = UNAVAILABLE, 4 = DEADLINE_EXCEEDED
      if (code === 14 || code === 4 || /UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED/.test(message)) {
        throw new BrainError("BACKEND_UNAVAILABLE", `The Milvus server is unreachable: ${message}`);
      }
      throw new BrainError("INTERNAL", `Milvus collection '${this.collection}': ${message}`);
    }
  }
}

/** Throws with Milvus's reason when a response status is not a success. */
function check(status: Status | { status?: Status } | undefined, action: string): void {
  const s: Status | undefined = status && "status" in status ? status.status : (status as Status | undefined);
  if (!s) return;
  const ok = (s.error_code === undefined || s.error_code === "Success" || s.error_code === 0) && (s.code === undefined || s.code === 0);
  if (!ok) throw new Error(`could not ${action}: ${s.reason || String(s.error_code)}`);
}

function scrub(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
