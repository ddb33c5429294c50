import { createHash } from "node:crypto";
import { Client } from "pg";
import { fromSql, toSql } from "pgvector";
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
 * pgvector over the Postgres wire protocol. One table per index, with the columns
 * fiftyone-brain's pgvector backend uses (`id` primary key, `sample_id`, `embedding_vector`),
 * and an HNSW index built after the first add. Every change runs in one transaction, so a
 * failed add or remove leaves the table as it was.
 *
 * Distances are pgvector's operators: cosine `<=>` = 1 − cos, euclidean `<->` = L2 distance;
 * dotproduct is reported as 1 − x·q (`<#>` + 1), the convention of the other backends.
 */
export interface PgvectorOptions {
  /** postgresql://user:password@host:port/db; defaults to the brain config's `connection_string`. */
  connectionString?: string;
  tableName: string;
  /** Name of the HNSW index; defaults to `<tableName>_hnsw`. */
  indexName?: string;
  metric?: SimilarityMetric;
  /** Dimension of the vectors; required to create the table, read from an existing one otherwise. */
  dim?: number;
  hnswM?: number;
  hnswEfConstruction?: number;
  /** Candidate list size of HNSW searches (pgvector's default 40); raised to k for each query. */
  hnswEfSearch?: number;
  /** Queries restricted to at most this many rows scan them exactly instead of walking the graph (default 10000). */
  exactScanRows?: number;
}

const OPERATORS: Record<SimilarityMetric, { op: string; opclass: string }> = {
  cosine: { op: "<=>", opclass: "vector_cosine_ops" },
  euclidean: { op: "<->", opclass: "vector_l2_ops" },
  dotproduct: { op: "<#>", opclass: "vector_ip_ops" },
};

/** pgvector cannot build an HNSW index over `vector` columns of more dimensions. */
const MAX_INDEXED_DIM = 2000;
const MAX_K = 10000;
const BATCH = 500;
const EXACT_SCAN_ROWS = 10000;
const IDENTIFIER_BYTES = 63;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Options from brain-config style parameters (`connection_string`, `table_name`, `hnsw_m`, …). */
export function pgvectorOptionsFromParams(params: Params): Partial<PgvectorOptions> {
  const str = (key: string): string | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    // The brain config splits values on commas; a connection string may legitimately hold one.
    if (Array.isArray(v)) return v.map(String).join(",");
    if (typeof v !== "string") throw new BrainError("INVALID_PARAMS", `pgvector parameter '${key}' must be a string`);
    return v;
  };
  const int = (key: string): number | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new BrainError("INVALID_PARAMS", `pgvector parameter '${key}' must be a positive integer`);
    }
    return v;
  };
  const metric = str("metric");
  if (metric !== undefined && !(metric in OPERATORS)) {
    throw new BrainError("INVALID_PARAMS", `Unsupported pgvector metric '${metric}'. Supported values are cosine, dotproduct, euclidean`);
  }
  return {
    connectionString: str("connection_string"),
    tableName: str("table_name"),
    indexName: str("index_name"),
    metric: metric as SimilarityMetric | undefined,
    hnswM: int("hnsw_m"),
    hnswEfConstruction: int("hnsw_ef_construction"),
    hnswEfSearch: int("hnsw_ef_search"),
  };
}

/** `<table>_hnsw`; index names share the schema's namespace, so a long table name is shortened with its hash. */
function hnswIndexName(table: string): string {
  if (Buffer.byteLength(`${table}_hnsw`) <= IDENTIFIER_BYTES) return `${table}_hnsw`;
  return `${table.slice(0, 40)}_${createHash("sha1").update(table).digest("hex").slice(0, 12)}_hnsw`;
}

/** A driver or server message with the connection string's password removed. */
function scrub(message: string, connectionString: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(connectionString).password);
  } catch {
    // not a URL (key=value form): fall back to removing the whole string
  }
  let out = message.split(connectionString).join("<connection string>");
  if (password.length > 0) out = out.split(password).join("***");
  return out;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE", "28P01", "28000", "3D000"]);

export class PgvectorIndex implements SimilarityIndex {
  readonly backend = "pgvector";
  readonly capabilities: IndexCapabilities = { maxK: MAX_K, supportsLeastSimilarity: false, supportsFullIndexQueries: false };
  private readonly table: string;
  private readonly index: string;
  private readonly op: string;
  /** Serialises calls: one connection, and transactions must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether `open` created the table (a failed first build removes only what it created). */
  created = false;
  private lost: Error | null = null;

  private constructor(
    private readonly client: Client,
    private readonly connectionString: string,
    private readonly options: PgvectorOptions,
    readonly metric: SimilarityMetric,
    readonly dim: number,
    private readonly iterativeScan: boolean,
  ) {
    this.table = quoteIdent(options.tableName);
    this.index = quoteIdent(options.indexName ?? hnswIndexName(options.tableName));
    this.op = OPERATORS[metric].op;
    client.on("error", (err) => {
      // A dropped connection is reported on the next call instead of crashing the runtime.
      this.lost = err;
    });
  }

  /** Connects, creates the `vector` extension and the table if needed, and checks an existing table's dimension. */
  static async open(options: PgvectorOptions): Promise<PgvectorIndex> {
    const metric = options.metric ?? "cosine";
    if (!(metric in OPERATORS)) {
      throw new BrainError("INVALID_PARAMS", `Unsupported pgvector metric '${metric}'. Supported values are cosine, dotproduct, euclidean`);
    }
    if (!options.tableName || Buffer.byteLength(options.tableName) > IDENTIFIER_BYTES) {
      throw new BrainError("INVALID_PARAMS", `A pgvector table name of 1 to ${IDENTIFIER_BYTES} bytes is required`);
    }
    const connectionString = options.connectionString ?? configuredConnectionString();
    if (!connectionString) {
      throw new BrainError(
        "INVALID_PARAMS",
        "No pgvector connection string: set FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING or `connection_string` under similarity_backends.pgvector in the brain config",
      );
    }
    const client = new Client({ connectionString, connectionTimeoutMillis: 10000, application_name: "brain-ts" });
    // Errors emitted before the index takes the client over must not crash the process either.
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (err) {
      throw new BrainError("BACKEND_UNAVAILABLE", `Cannot connect to the pgvector server: ${scrub(describe(err), connectionString)}`);
    }
    try {
      const version = await extensionVersion(client);
      if (version === null) {
        throw new BrainError(
          "BACKEND_UNAVAILABLE",
          "The pgvector extension is not installed in this database and could not be created (that needs a superuser): ask an administrator to run CREATE EXTENSION vector",
        );
      }
      if (compareVersions(version, "0.5.0") < 0) {
        throw new BrainError("BACKEND_UNAVAILABLE", `pgvector ${version} has no HNSW indexes; version 0.5.0 or newer is needed (ALTER EXTENSION vector UPDATE)`);
      }
      const existing = await tableDim(client, options.tableName);
      const dim = existing ?? options.dim;
      if (dim === undefined) {
        throw new BrainError("INVALID_PARAMS", `The pgvector table '${options.tableName}' does not exist; its vector dimension is needed to create it`);
      }
      if (existing !== null && options.dim !== undefined && existing !== options.dim) {
        throw new BrainError("INVALID_DATA", `The pgvector table '${options.tableName}' holds ${existing}-dimensional vectors, not ${options.dim}`);
      }
      if (!Number.isInteger(dim) || dim < 1 || dim > MAX_INDEXED_DIM) {
        throw new BrainError("INVALID_PARAMS", `pgvector indexes vectors of 1 to ${MAX_INDEXED_DIM} dimensions; these have ${dim}`);
      }
      if (existing === null) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${quoteIdent(options.tableName)} (id TEXT PRIMARY KEY, sample_id TEXT, embedding_vector vector(${dim}))`,
        );
      }
      const index = new PgvectorIndex(client, connectionString, options, metric, dim, compareVersions(version, "0.8.0") >= 0);
      index.created = existing === null;
      return index;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err instanceof BrainError ? err : new BrainError("BACKEND_UNAVAILABLE", `pgvector: ${scrub(describe(err), connectionString)}`);
    }
  }

  /** Where the index lives and how it was built (stored with a run; never the connection string). */
  describe(): { table_name: string; index_name: string; hnsw_m: number; hnsw_ef_construction: number; hnsw_ef_search: number | null } {
    return {
      table_name: this.options.tableName,
      index_name: this.options.indexName ?? hnswIndexName(this.options.tableName),
      hnsw_m: this.options.hnswM ?? 16,
      hnsw_ef_construction: this.options.hnswEfConstruction ?? 64,
      hnsw_ef_search: this.options.hnswEfSearch ?? null,
    };
  }

  size(): Promise<number> {
    return this.exclusive(() => this.count());
  }

  async add(items: IndexItems, options: AddOptions = {}): Promise<AddResult> {
    checkItems(this.backend, this.dim, items);
    const overwrite = options.overwrite ?? true;
    const conflict = overwrite
      ? "ON CONFLICT (id) DO UPDATE SET sample_id = EXCLUDED.sample_id, embedding_vector = EXCLUDED.embedding_vector"
      : "ON CONFLICT (id) DO NOTHING";
    const sql =
      `INSERT INTO ${this.table} (id, sample_id, embedding_vector) ` +
      `SELECT * FROM unnest($1::text[], $2::text[], $3::vector[]) ${conflict} ` +
      // xmax is 0 for a freshly inserted row and set for a row an upsert updated.
      `RETURNING (xmax = 0) AS inserted`;
    return this.exclusive(() =>
      this.transaction(async () => {
        const result: AddResult = { added: 0, replaced: 0, skipped: 0 };
        const n = items.ids.length;
        for (let start = 0; start < n; start += BATCH) {
          const end = Math.min(n, start + BATCH);
          const ids = items.ids.slice(start, end);
          const sampleIds = items.sampleIds?.slice(start, end) ?? ids;
          const vectors: string[] = [];
          for (let i = start; i < end; i++) vectors.push(toSql(Array.from(items.vectors.subarray(i * this.dim, (i + 1) * this.dim))));
          const { rows } = await this.client.query<{ inserted: boolean }>(sql, [ids, sampleIds, vectors]);
          for (const row of rows) row.inserted ? result.added++ : result.replaced++;
          result.skipped += ids.length - rows.length;
        }
        // Built after the first load (faster than growing it row by row); later adds maintain it.
        await this.client.query(
          `CREATE INDEX IF NOT EXISTS ${this.index} ON ${this.table} USING hnsw (embedding_vector ${OPERATORS[this.metric].opclass}) ` +
            `WITH (m = ${this.options.hnswM ?? 16}, ef_construction = ${this.options.hnswEfConstruction ?? 64})`,
        );
        return result;
      }),
    );
  }

  remove(ids: string[]): Promise<number> {
    return this.exclusive(async () => {
      if (ids.length === 0) return 0;
      const { rowCount } = await this.client.query(`DELETE FROM ${this.table} WHERE id = ANY($1::text[])`, [ids]);
      return rowCount ?? 0;
    });
  }

  getEmbeddings(ids?: string[]): Promise<IndexItems> {
    return this.exclusive(async () => {
      const { rows } =
        ids === undefined
          ? await this.client.query<Row>(`SELECT id, sample_id, embedding_vector::text AS v FROM ${this.table} ORDER BY id`)
          : await this.client.query<Row>(`SELECT id, sample_id, embedding_vector::text AS v FROM ${this.table} WHERE id = ANY($1::text[])`, [ids]);
      let ordered = rows;
      if (ids !== undefined) {
        const byId = new Map(rows.map((r) => [r.id, r]));
        ordered = ids.flatMap((id) => byId.get(id) ?? []);
      }
      const vectors = new Float32Array(ordered.length * this.dim);
      ordered.forEach((r, i) => vectors.set(fromSql(r.v), i * this.dim));
      const out: IndexItems = { ids: ordered.map((r) => r.id), vectors };
      // Sample indexes store each id as its own sample id; patch indexes differ somewhere.
      if (ordered.some((r) => r.sample_id !== r.id)) out.sampleIds = ordered.map((r) => r.sample_id ?? r.id);
      return out;
    });
  }

  async query(queries: Float32Array, options: QueryOptions = {}): Promise<QueryResult[]> {
    const count = checkQueries(this.backend, this.dim, queries);
    return this.exclusive(() =>
      this.transaction(async () => {
        const restrict = options.restrictTo === undefined ? undefined : [...options.restrictTo];
        const total = await this.count();
        const candidates = restrict === undefined ? total : await this.countIn(restrict);
        const k = resolveK(this.backend, this.capabilities, options, candidates);
        const results: QueryResult[] = [];
        if (k === 0) {
          for (let q = 0; q < count; q++) results.push({ ids: [], distances: new Float32Array(0) });
          return results;
        }
        // A small view is scanned exactly (its rows found through the primary key); a large
        // one walks the HNSW graph with the filter, and falls back to a scan if the graph
        // search ran out of candidates before finding k rows of the view.
        let exact = restrict !== undefined && (candidates <= (this.options.exactScanRows ?? EXACT_SCAN_ROWS) || candidates * 4 < total);
        await this.client.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(this.options.hnswEfSearch ?? 40, k))}`);
        if (this.iterativeScan) {
          // Keep walking the graph past ef_search until LIMIT rows pass the filter, in order.
          await this.client.query("SET LOCAL hnsw.iterative_scan = strict_order");
          await this.client.query(`SET LOCAL hnsw.max_scan_tuples = ${Math.max(20000, 4 * k)}`);
        }
        if (exact) await this.client.query("SET LOCAL enable_indexscan = off");
        for (let q = 0; q < count; q++) {
          const vector = toSql(Array.from(queries.subarray(q * this.dim, (q + 1) * this.dim)));
          let rows = await this.knn(vector, k, restrict);
          if (!exact && rows.length < k) {
            exact = true;
            await this.client.query("SET LOCAL enable_indexscan = off");
            rows = await this.knn(vector, k, restrict);
          }
          const shift = this.metric === "dotproduct" ? 1 : 0;
          results.push({ ids: rows.map((r) => r.id), distances: Float32Array.from(rows, (r) => r.d + shift) });
        }
        return results;
      }),
    );
  }

  async save(): Promise<void> {
    // Every call commits its own transaction.
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      await this.client.end().catch(() => undefined);
    });
  }

  /** Drops the table (and with it the HNSW index), then closes the connection. */
  cleanup(): Promise<void> {
    return this.exclusive(async () => {
      await this.client.query(`DROP TABLE IF EXISTS ${this.table}`);
      await this.client.end().catch(() => undefined);
    });
  }

  private knn(vector: string, k: number, restrict: string[] | undefined): Promise<{ id: string; d: number }[]> {
    const distance = `embedding_vector ${this.op} $1::vector`;
    const sql =
      restrict === undefined
        ? `SELECT id, ${distance} AS d FROM ${this.table} ORDER BY ${distance} LIMIT $2`
        : `SELECT id, ${distance} AS d FROM ${this.table} WHERE id = ANY($3::text[]) ORDER BY ${distance} LIMIT $2`;
    const params: unknown[] = restrict === undefined ? [vector, k] : [vector, k, restrict];
    return this.client.query<{ id: string; d: number }>(sql, params).then((r) => r.rows);
  }

  private async count(): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`);
    return Number(rows[0].n);
  }

  private async countIn(ids: string[]): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table} WHERE id = ANY($1::text[])`, [ids]);
    return Number(rows[0].n);
  }

  private async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.client.query("BEGIN");
    try {
      const out = await fn();
      await this.client.query("COMMIT");
      return out;
    } catch (err) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.lost) throw this.lost;
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      throw this.wrap(err);
    });
  }

  private wrap(err: unknown): BrainError {
    if (err instanceof BrainError) return err;
    const code = (err as { code?: unknown }).code;
    const message = scrub(describe(err), this.connectionString);
    if ((typeof code === "string" && CONNECTION_CODES.has(code)) || /Connection terminated|not queryable|Client was closed/i.test(message)) {
      return new BrainError("BACKEND_UNAVAILABLE", `The pgvector server is unreachable: ${message}`);
    }
    return new BrainError("INTERNAL", `pgvector table '${this.options.tableName}': ${message}`);
  }
}

interface Row {
  id: string;
  sample_id: string | null;
  v: string;
}

function configuredConnectionString(): string | undefined {
  const params = loadBrainConfig().similarity_backends.pgvector ?? {};
  return pgvectorOptionsFromParams(params).connectionString;
}

async function extensionVersion(client: Client): Promise<string | null> {
  const find = async () => (await client.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]?.v ?? null;
  const found = await find();
  if (found !== null) return found;
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS vector");
  } catch {
    return null;
  }
  return find();
}

/** Dimension of an existing table's `embedding_vector` column, or null when the table does not exist. */
async function tableDim(client: Client, table: string): Promise<number | null> {
  const { rows } = await client.query<{ typmod: number }>(
    "SELECT a.atttypmod AS typmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid " +
      "WHERE c.relname = $1 AND c.relkind = 'r' AND pg_table_is_visible(c.oid) AND a.attname = 'embedding_vector'",
    [table],
  );
  if (rows.length === 0) return null;
  return rows[0].typmod;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describe).join("; ");
  return err instanceof Error ? err.message || String((err as { code?: unknown }).code ?? err.name) : String(err);
}
