import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { BrainError } from "../errors";
import { checkParams, DEFAULT_HNSW_PARAMS, HnswParams } from "./hnswIndex";

/**
 * HNSW over all cores: hnswlib-node builds an index on one thread, so the rows are split
 * into S contiguous shards, each built by its own hnswlib index in its own worker thread.
 * The rows live once, in a SharedArrayBuffer every worker reads; each shard labels its
 * items with their global row number, so a query's k nearest are the k nearest of the
 * union of every shard's k nearest. Queries go to all shards in parallel and are merged
 * here. Each worker is plain JS loading hnswlib-node by its resolved path, so it runs
 * from sources (tests) and from lib/ alike.
 *
 * `offset` (optional, length dim) is subtracted from every row and every query before
 * hnswlib sees them: near duplicates use it to search the reference's centered rows
 * without a second copy of the data.
 */
export type ShardSpace = "cosine" | "l2" | "ip";

export interface ShardedHnswOptions {
  space: ShardSpace;
  params?: Partial<HnswParams>;
  /** Number of shards, one worker each (default: the number of cores). */
  shards?: number;
  offset?: Float64Array;
  signal?: AbortSignal;
  /** Fraction of rows inserted so far, across shards. */
  progress?: (fraction: number) => void;
}

/** Queries × k, row-major: global row numbers (−1 past the end) and hnswlib's distances, ascending. */
export interface ShardedResult {
  labels: Int32Array;
  distances: Float32Array;
  k: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { HierarchicalNSW } = require(workerData.hnswlib);
const { dim, space } = workerData;
const data = workerData.buffer ? new Float32Array(workerData.buffer) : null;
const offset = workerData.offset ? new Float64Array(workerData.offset) : null;
// Set by the owner to stop long loops: a worker must never be terminated inside an
// hnswlib call (that aborts the process), so it stops itself between items.
const control = new Int32Array(workerData.control);
function checkStop() {
  if (Atomics.load(control, 0) !== 0) throw Object.assign(new Error("stopped"), { stopped: true });
}
const point = new Float32Array(dim);
let index = null;
function fill(source, row) {
  const o = row * dim;
  if (offset) for (let k = 0; k < dim; k++) point[k] = source[o + k] - offset[k];
  else return source.subarray(o, o + dim);
  return point;
}
function search(source, first, count, k) {
  const labels = new Int32Array(count * k).fill(-1);
  const distances = new Float32Array(count * k).fill(Infinity);
  const kk = Math.min(k, index.getCurrentCount());
  for (let q = 0; q < count; q++) {
    if (kk === 0) break;
    if ((q & 63) === 0) checkStop();
    const r = index.searchKnn(fill(source, first + q), kk);
    for (let j = 0; j < r.neighbors.length; j++) {
      labels[q * k + j] = r.neighbors[j];
      distances[q * k + j] = r.distances[j];
    }
  }
  return { labels, distances };
}
async function handle(msg) {
  switch (msg.op) {
    case "build": {
      const p = msg.params;
      index = new HierarchicalNSW(space, dim);
      index.initIndex({ maxElements: Math.max(1, msg.end - msg.start), m: p.m, efConstruction: p.ef_construction, randomSeed: p.random_seed });
      for (let row = msg.start; row < msg.end; row++) {
        if ((row & 15) === 0) checkStop();
        index.addPoint(fill(data, row), row);
        if ((row - msg.start) % 256 === 255) parentPort.postMessage({ progress: 256 });
      }
      parentPort.postMessage({ progress: (msg.end - msg.start) % 256 });
      index.setEf(p.ef);
      return { count: index.getCurrentCount() };
    }
    case "load": {
      index = new HierarchicalNSW(space, dim);
      // Synchronous file calls: the worker has nothing else to do, and an asynchronous one
      // still in flight when the worker is stopped aborts the whole process.
      index.readIndexSync(msg.path);
      index.setEf(msg.ef);
      return { count: index.getCurrentCount() };
    }
    case "save":
      index.writeIndexSync(msg.path);
      return {};
    case "setEf":
      index.setEf(msg.ef);
      return {};
    case "searchRows": {
      const r = search(data, msg.start, msg.end - msg.start, msg.k);
      return { result: r, transfer: [r.labels.buffer, r.distances.buffer] };
    }
    case "search": {
      const r = search(msg.queries, 0, msg.queries.length / dim, msg.k);
      return { result: r, transfer: [r.labels.buffer, r.distances.buffer] };
    }
  }
  throw new Error("unknown shard operation " + msg.op);
}
let queue = Promise.resolve();
parentPort.on("message", (msg) => {
  // Test hook: an uncaught failure inside the worker, as a crashing native call would be.
  if (msg.op === "crash") throw new Error("shard worker crashed on request");
  queue = queue.then(async () => {
    try {
      const out = await handle(msg);
      if (out.transfer) parentPort.postMessage({ id: msg.id, result: out.result }, out.transfer);
      else parentPort.postMessage({ id: msg.id, result: out });
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: String(err && err.message || err), stopped: Boolean(err && err.stopped) });
    }
  });
});
`;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** One worker and its in-flight requests (answered in order). */
class Shard {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly inflight = new Set<Promise<unknown>>();
  private nextId = 0;
  private failure: BrainError | null = null;
  onProgress: (rows: number) => void = () => {};

  constructor(
    readonly number: number,
    dim: number,
    space: ShardSpace,
    buffer: SharedArrayBuffer | null,
    offset: Float64Array | undefined,
    control: Int32Array,
  ) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { hnswlib: require.resolve("hnswlib-node"), dim, space, buffer, offset: offset ? Float64Array.from(offset).buffer : null, control: control.buffer },
    });
    this.worker.on("message", (msg: { id?: number; result?: unknown; error?: string; stopped?: boolean; progress?: number }) => {
      if (msg.progress !== undefined) return this.onProgress(msg.progress);
      const p = this.pending.get(msg.id!);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.stopped) p.reject(new BrainError("CANCELLED", "The hnswlib index was stopped"));
      else if (msg.error !== undefined) p.reject(new BrainError("INTERNAL", `hnswlib shard ${this.number} failed: ${msg.error}`));
      else p.resolve(msg.result);
    });
    this.worker.on("error", (err) => this.fail(`hnswlib shard ${this.number} stopped: ${err.message}`));
    this.worker.on("exit", (code) => this.fail(`hnswlib shard ${this.number} exited (code ${code})`));
  }

  private fail(message: string): void {
    if (!this.failure) this.failure = new BrainError("INTERNAL", `${message}; the index is unusable, build it again`);
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  request<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id });
    });
    this.inflight.add(promise);
    const done = () => void this.inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /**
   * Stops the worker once its requests have ended (the owner has raised the stop flag,
   * so they end at the next item): terminating it inside hnswlib would abort the process.
   */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    if (!this.failure) this.failure = new BrainError("CANCELLED", "The hnswlib index was closed");
    await this.worker.terminate();
  }
}

export class ShardedHnsw {
  private constructor(
    readonly dim: number,
    readonly space: ShardSpace,
    readonly params: HnswParams,
    private readonly shards: Shard[],
    /** Rows [starts[s], starts[s + 1]) are in shard s. */
    readonly starts: number[],
    private readonly buffer: SharedArrayBuffer | null,
    /** control[0] ≠ 0 tells every worker to stop its current loop. */
    private readonly control: Int32Array,
  ) {}

  /** Number of cores: the default shard count. */
  static defaultShards(): number {
    return Math.max(1, availableParallelism());
  }

  /**
   * Rows in shared memory for `build`: the given array itself when it already views a
   * SharedArrayBuffer (callers with large data allocate it there), else a copy.
   */
  static shared(vectors: Float32Array): Float32Array {
    if (vectors.buffer instanceof SharedArrayBuffer && vectors.byteOffset === 0 && vectors.byteLength === vectors.buffer.byteLength) return vectors;
    const out = new Float32Array(new SharedArrayBuffer(vectors.byteLength));
    out.set(vectors);
    return out;
  }

  /** Builds the shards of `n` rows (row-major, n × dim), all in parallel. */
  static async build(vectors: Float32Array, n: number, dim: number, options: ShardedHnswOptions): Promise<ShardedHnsw> {
    if (!Number.isInteger(dim) || dim < 1) throw new BrainError("INVALID_PARAMS", `An index needs a positive dimension; got ${dim}`);
    if (vectors.length !== n * dim) throw new BrainError("INVALID_DATA", `Expected ${n}×${dim} values, got ${vectors.length}`);
    if (n < 1) throw new BrainError("INVALID_DATA", "An index needs at least one vector");
    const params = checkParams({ ...DEFAULT_HNSW_PARAMS, ...options.params });
    const count = Math.max(1, Math.min(options.shards ?? ShardedHnsw.defaultShards(), n));
    if (!Number.isInteger(count)) throw new BrainError("INVALID_PARAMS", `The number of shards must be a positive integer; got ${options.shards}`);
    if (options.offset && options.offset.length !== dim) throw new BrainError("INVALID_PARAMS", `The offset must have ${dim} values`);
    const rows = ShardedHnsw.shared(vectors);
    const starts = Array.from({ length: count + 1 }, (_, s) => Math.round((s * n) / count));
    const control = new Int32Array(new SharedArrayBuffer(4));
    const shards = starts.slice(0, count).map((_, s) => new Shard(s, dim, options.space, rows.buffer as SharedArrayBuffer, options.offset, control));
    const index = new ShardedHnsw(dim, options.space, params, shards, starts, rows.buffer as SharedArrayBuffer, control);
    let inserted = 0;
    for (const shard of shards) {
      shard.onProgress = (r) => {
        inserted += r;
        options.progress?.(inserted / n);
      };
    }
    await index.run(options.signal, () => Promise.all(shards.map((shard, s) => shard.request({ op: "build", start: starts[s], end: starts[s + 1], params }))));
    return index;
  }

  /**
   * Reopens shards written by `save` (files shard-<s>.bin in `dir`). Without `vectors`,
   * only `search` works (not `searchRows`).
   */
  static async load(dir: string, meta: ShardedHnswMeta, vectors?: Float32Array, offset?: Float64Array): Promise<ShardedHnsw> {
    const count = meta.starts.length - 1;
    const rows = vectors ? ShardedHnsw.shared(vectors) : null;
    const control = new Int32Array(new SharedArrayBuffer(4));
    const shards = Array.from({ length: count }, (_, s) => new Shard(s, meta.dim, meta.space, rows ? (rows.buffer as SharedArrayBuffer) : null, offset, control));
    const index = new ShardedHnsw(meta.dim, meta.space, checkParams(meta.params), shards, meta.starts, rows ? (rows.buffer as SharedArrayBuffer) : null, control);
    try {
      // Settled before any failure stops the workers.
      const settled = await Promise.allSettled(shards.map((shard, s) => shard.request<{ count: number }>({ op: "load", path: join(dir, `shard-${s}.bin`), ef: index.params.ef })));
      const counts = settled.map((r) => {
        if (r.status === "rejected") throw r.reason;
        return r.value;
      });
      counts.forEach(({ count: c }, s) => {
        if (c !== meta.starts[s + 1] - meta.starts[s]) throw new BrainError("INVALID_DATA", `hnswlib shard ${s} holds ${c} items but should hold ${meta.starts[s + 1] - meta.starts[s]}`);
      });
    } catch (err) {
      await index.close();
      const message = err instanceof Error ? err.message : String(err);
      throw new BrainError("INVALID_DATA", `The stored hnswlib shards are unreadable (${message}); compute the index again`);
    }
    return index;
  }

  /** Writes every shard to `dir` (shard-<s>.bin) and returns what `load` needs besides. */
  async save(dir: string): Promise<ShardedHnswMeta> {
    await Promise.all(this.shards.map((shard, s) => shard.request({ op: "save", path: join(dir, `shard-${s}.bin`) })));
    return { dim: this.dim, space: this.space, params: this.params, starts: this.starts };
  }

  get size(): number {
    return this.starts[this.starts.length - 1];
  }

  get shardCount(): number {
    return this.shards.length;
  }

  async setEf(ef: number): Promise<void> {
    if (!Number.isInteger(ef) || ef < 1) throw new BrainError("INVALID_PARAMS", `hnswlib parameter 'ef' must be an integer ≥ 1; got ${ef}`);
    await Promise.all(this.shards.map((shard) => shard.request({ op: "setEf", ef })));
  }

  /** The k nearest rows of each query vector (queries × dim; the offset applies to them too). */
  async search(queries: Float32Array, k: number, signal?: AbortSignal): Promise<ShardedResult> {
    if (queries.length % this.dim !== 0) throw new BrainError("INVALID_PARAMS", `Query vectors must have ${this.dim} values each; got ${queries.length} values`);
    checkK(k);
    const parts = await this.run(signal, () => Promise.all(this.shards.map((shard) => shard.request<ShardedResult>({ op: "search", queries, k }))));
    return mergeShards(parts, queries.length / this.dim, k);
  }

  /** The k nearest rows of the indexed rows [start, end), read from shared memory (a row finds itself too). */
  async searchRows(start: number, end: number, k: number, signal?: AbortSignal): Promise<ShardedResult> {
    if (!this.buffer) throw new BrainError("INVALID_PARAMS", "This index was loaded without its vectors: query it with vectors");
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.size)) {
      throw new BrainError("INVALID_PARAMS", `Rows [${start}, ${end}) are outside the index's ${this.size} rows`);
    }
    checkK(k);
    const parts = await this.run(signal, () => Promise.all(this.shards.map((shard) => shard.request<ShardedResult>({ op: "searchRows", start, end, k }))));
    return mergeShards(parts, end - start, k);
  }

  /** Stops every worker (requests under way end at their next item). */
  async close(): Promise<void> {
    Atomics.store(this.control, 0, 1);
    await Promise.all(this.shards.map((shard) => shard.stop()));
  }

  /**
   * Runs shard requests; on any failure or cancellation every worker is stopped (a
   * half-built index is never left running) and the first cause is reported.
   */
  private async run<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (signal?.aborted) {
      await this.close();
      throw new BrainError("CANCELLED", "The hnswlib index was cancelled");
    }
    const onAbort = () => Atomics.store(this.control, 0, 1);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await work();
    } catch (err) {
      await this.close();
      if (signal?.aborted) throw new BrainError("CANCELLED", "The hnswlib index was cancelled");
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Test hook: makes shard s fail as a crashing native call would. */
  crashShardForTest(s: number): void {
    void this.shards[s].request({ op: "crash" }).catch(() => {});
  }
}

/** What `load` needs besides the shard files. */
export interface ShardedHnswMeta {
  dim: number;
  space: ShardSpace;
  params: HnswParams;
  starts: number[];
}

/** Per query, the k smallest distances of all shards' k nearest (ties: lower row first). */
export function mergeShards(parts: ShardedResult[], queries: number, k: number): ShardedResult {
  if (parts.length === 1) return parts[0];
  const labels = new Int32Array(queries * k).fill(-1);
  const distances = new Float32Array(queries * k).fill(Infinity);
  const cursor = new Int32Array(parts.length);
  for (let q = 0; q < queries; q++) {
    cursor.fill(0);
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bestD = Infinity;
      let bestL = -1;
      for (let s = 0; s < parts.length; s++) {
        const c = cursor[s];
        if (c >= k) continue;
        const l = parts[s].labels[q * k + c];
        if (l < 0) continue;
        const d = parts[s].distances[q * k + c];
        if (best < 0 || d < bestD || (d === bestD && l < bestL)) {
          best = s;
          bestD = d;
          bestL = l;
        }
      }
      if (best < 0) break;
      cursor[best]++;
      labels[q * k + j] = bestL;
      distances[q * k + j] = bestD;
    }
  }
  return { labels, distances, k };
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new BrainError("INVALID_PARAMS", `k must be a positive integer; got ${k}`);
}
