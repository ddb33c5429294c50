import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { connect, type Connection, type Table } from "@lancedb/lancedb";
import { Field, FixedSizeList, Float32, Schema, Utf8 } from "apache-arrow";
import type { Params } from "../config/brainConfig";
import { BrainError } from "../errors";
import { projectRoot } from "../fiftyone/localDatabase";
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
 * LanceDB, embedded: one table per index (`id`, `sample_id`, `vector`) in a database folder
 * or object-storage URI. No ANN index is built, so searches are LanceDB's exhaustive (exact)
 * scan. Each add and remove is one LanceDB commit, so a failure leaves the table as it was.
 *
 * Distances are reported in metric units: cosine 1 − cos (LanceDB's own), euclidean the L2
 * distance (LanceDB reports its square), dotproduct 1 − x·q (LanceDB's own).
 */
export interface LanceDbOptions {
  /** Database folder or URI; default `<plugin>/.cache/lancedb`. */
  uri?: string;
  tableName: string;
  metric?: SimilarityMetric;
  /** Required to create the table; read from an existing one otherwise. */
  dim?: number;
}

const DISTANCE_TYPES: Record<SimilarityMetric, "cosine" | "l2" | "dot"> = { cosine: "cosine", euclidean: "l2", dotproduct: "dot" };
/** Ids per SQL `IN (…)` list. */
const ID_CHUNK = 5000;

export function defaultLanceDbUri(): string {
  return join(projectRoot(), ".cache", "lancedb");
}

/** Options from brain-config style parameters (`uri`, `table_name`, `metric`; the reference's `euclidean` and LanceDB's `l2`). */
export function lanceDbOptionsFromParams(params: Params): Partial<LanceDbOptions> {
  const str = (key: string): string | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new BrainError("INVALID_PARAMS", `lancedb parameter '${key}' must be a string`);
    return v;
  };
  let metric = str("metric");
  if (metric === "l2") metric = "euclidean";
  if (metric === "dot") metric = "dotproduct";
  if (metric !== undefined && !(metric in DISTANCE_TYPES)) {
    throw new BrainError("INVALID_PARAMS", `Unsupported lancedb metric '${metric}'. Supported values are cosine, euclidean (l2), dotproduct (dot)`);
  }
  return { uri: str("uri"), tableName: str("table_name"), metric: metric as SimilarityMetric | undefined };
}

/** SQL string literal for LanceDB filters. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function inList(ids: readonly string[]): string {
  return `id IN (${ids.map(literal).join(", ")})`;
}

function chunks<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

export class LanceDbIndex implements SimilarityIndex {
  readonly backend = "lancedb";
  readonly capabilities: IndexCapabilities = { supportsLeastSimilarity: false, supportsFullIndexQueries: false };
  /** Whether `open` created the table (a failed first build removes only what it created). */
  created = false;

  private constructor(
    private readonly db: Connection,
    private readonly table: Table,
    private readonly tableName: string,
    private readonly uri: string,
    readonly metric: SimilarityMetric,
    readonly dim: number,
  ) {}

  static async open(options: LanceDbOptions): Promise<LanceDbIndex> {
    const metric = options.metric ?? "cosine";
    if (!(metric in DISTANCE_TYPES)) {
      throw new BrainError("INVALID_PARAMS", `Unsupported lancedb metric '${metric}'. Supported values are cosine, euclidean, dotproduct`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(options.tableName ?? "")) {
      throw new BrainError("INVALID_PARAMS", `Invalid lancedb table name '${options.tableName}': use letters, digits, _, - and .`);
    }
    const uri = options.uri ?? defaultLanceDbUri();
    if (!uri.includes("://")) mkdirSync(uri, { recursive: true });
    let db: Connection;
    try {
      db = await connect(uri);
    } catch (err) {
      throw new BrainError("BACKEND_UNAVAILABLE", `Cannot open the LanceDB database '${uri}': ${(err as Error).message}`);
    }
    const exists = (await db.tableNames()).includes(options.tableName);
    let table: Table;
    let dim: number;
    if (exists) {
      table = await db.openTable(options.tableName);
      const vector = (await table.schema()).fields.find((f) => f.name === "vector");
      const type = vector?.type as FixedSizeList | undefined;
      if (!type || typeof type.listSize !== "number") {
        throw new BrainError("INVALID_DATA", `The LanceDB table '${options.tableName}' has no fixed-size 'vector' column; it was not made by this plugin`);
      }
      dim = type.listSize;
      if (options.dim !== undefined && options.dim !== dim) {
        throw new BrainError("INVALID_DATA", `The LanceDB table '${options.tableName}' holds ${dim}-dimensional vectors, not ${options.dim}`);
      }
    } else {
      if (options.dim === undefined || !Number.isInteger(options.dim) || options.dim < 1) {
        throw new BrainError("INVALID_PARAMS", `The LanceDB table '${options.tableName}' does not exist; its vector dimension is needed to create it`);
      }
      dim = options.dim;
      const schema = new Schema([
        new Field("id", new Utf8(), false),
        new Field("sample_id", new Utf8(), true),
        new Field("vector", new FixedSizeList(dim, new Field("item", new Float32(), true)), false),
      ]);
      table = await db.createEmptyTable(options.tableName, schema);
    }
    const index = new LanceDbIndex(db, table, options.tableName, uri, metric, dim);
    index.created = !exists;
    return index;
  }

  /** Where the index lives (stored with a run). */
  describe(): { table_name: string; uri: string } {
    return { table_name: this.tableName, uri: this.uri };
  }

  size(): Promise<number> {
    return this.table.countRows();
  }

  async add(items: IndexItems, options: AddOptions = {}): Promise<AddResult> {
    checkItems(this.backend, this.dim, items);
    const n = items.ids.length;
    if (n === 0) return { added: 0, replaced: 0, skipped: 0 };
    const rows = items.ids.map((id, i) => ({
      id,
      sample_id: items.sampleIds?.[i] ?? id,
      vector: Array.from(items.vectors.subarray(i * this.dim, (i + 1) * this.dim)),
    }));
    let builder = this.table.mergeInsert("id");
    if (options.overwrite ?? true) builder = builder.whenMatchedUpdateAll();
    const result = await builder.whenNotMatchedInsertAll().execute(rows);
    return { added: result.numInsertedRows, replaced: result.numUpdatedRows, skipped: n - result.numInsertedRows - result.numUpdatedRows };
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    let removed = 0;
    // One predicate per chunk keeps the SQL small; an error in a later chunk leaves earlier removals done.
    for (const chunk of chunks(ids, ID_CHUNK)) removed += (await this.table.delete(inList(chunk))).numDeletedRows;
    return removed;
  }

  async getEmbeddings(ids?: string[]): Promise<IndexItems> {
    const found = new Map<string, { sampleId: string; vector: Float32Array }>();
    const read = async (filter?: string) => {
      let query = this.table.query().select(["id", "sample_id", "vector"]);
      if (filter !== undefined) query = query.where(filter);
      const batch = await query.toArrow();
      const idCol = batch.getChild("id")!;
      const sampleCol = batch.getChild("sample_id")!;
      const vectorCol = batch.getChild("vector")!;
      for (let i = 0; i < batch.numRows; i++) {
        const id = idCol.get(i) as string;
        found.set(id, { sampleId: (sampleCol.get(i) as string | null) ?? id, vector: Float32Array.from(vectorCol.get(i) as Iterable<number>) });
      }
    };
    if (ids === undefined) await read();
    else for (const chunk of chunks(ids, ID_CHUNK)) await read(inList(chunk));
    const order = ids === undefined ? [...found.keys()].sort() : ids.filter((id) => found.has(id));
    const vectors = new Float32Array(order.length * this.dim);
    order.forEach((id, i) => vectors.set(found.get(id)!.vector, i * this.dim));
    const out: IndexItems = { ids: order, vectors };
    if (order.some((id) => found.get(id)!.sampleId !== id)) out.sampleIds = order.map((id) => found.get(id)!.sampleId);
    return out;
  }

  async query(queries: Float32Array, options: QueryOptions = {}): Promise<QueryResult[]> {
    const count = checkQueries(this.backend, this.dim, queries);
    const total = await this.table.countRows();
    const view = options.restrictTo === undefined ? undefined : [...options.restrictTo];
    // A view of at most half the table is a prefilter on id; a larger one excludes fewer rows
    // than it keeps, so it is cheaper to search without the filter, over-fetching by the number
    // of rows outside the view, and drop those here.
    const prefilter = view !== undefined && view.length * 2 <= total;
    let candidates = total;
    if (view !== undefined) {
      candidates = 0;
      for (const chunk of chunks(view, ID_CHUNK)) candidates += await this.table.countRows(inList(chunk));
    }
    const k = resolveK(this.backend, this.capabilities, options, candidates);
    const results: QueryResult[] = [];
    for (let q = 0; q < count; q++) {
      const vector = Array.from(queries.subarray(q * this.dim, (q + 1) * this.dim));
      let rows: { id: string; d: number }[] = [];
      if (k > 0) {
        if (view === undefined) rows = await this.search(vector, k);
        else if (prefilter) rows = await this.search(vector, k, inList(view));
        else rows = (await this.search(vector, Math.min(total, k + (total - candidates)))).filter((r) => options.restrictTo!.has(r.id)).slice(0, k);
      }
      results.push({ ids: rows.map((r) => r.id), distances: Float32Array.from(rows, (r) => this.toDistance(r.d)) });
    }
    return results;
  }

  async save(): Promise<void> {
    // Every add and remove is already committed.
  }

  async close(): Promise<void> {
    if (this.table.isOpen()) this.table.close();
    if (this.db.isOpen()) this.db.close();
  }

  /** Drops the table; the database folder stays (other indexes may live in it). */
  async cleanup(): Promise<void> {
    if ((await this.db.tableNames()).includes(this.tableName)) await this.db.dropTable(this.tableName);
    await this.close();
  }

  private async search(vector: number[], limit: number, filter?: string): Promise<{ id: string; d: number }[]> {
    let query = this.table.vectorSearch(vector).column("vector").distanceType(DISTANCE_TYPES[this.metric]).select(["id", "_distance"]).limit(limit);
    if (filter !== undefined) query = query.where(filter);
    const rows = (await query.toArray()) as { id: string; _distance: number }[];
    return rows.map((r) => ({ id: r.id, d: r._distance }));
  }

  /** LanceDB's `_distance` in the metric's own units (see the class comment). */
  private toDistance(d: number): number {
    if (this.metric === "euclidean") return Math.sqrt(Math.max(0, d));
    return d;
  }
}
