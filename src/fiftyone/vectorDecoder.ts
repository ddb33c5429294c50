import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { constants, createInflate, deflateSync } from "node:zlib";
import { projectRoot } from "./localDatabase";
import { firstNonFinite, isNpy, parseNpy } from "./numpy";

/**
 * Decodes FiftyOne's stored vectors (zlib-compressed numpy bytes) straight into the rows of
 * a shared matrix, on a worker thread and on the calling thread at once: inflating is most
 * of a read's time (≈ 18 µs per 512-float vector), and a reader's main thread has its own
 * work (the driver, finding the values in the documents). The caller that would otherwise
 * wait for a batch helps instead (`help()`): the worker takes items from the front, the
 * caller from the back, each claiming an item in a shared array before decoding it. Only
 * the common case is decoded here (a 1-D array of the matrix's width, every value finite
 * once stored); anything else is left to the caller's exact path, which decodes it again
 * with every check and message. One worker per process, started on first use; it keeps the
 * process alive only while a request is pending. Running from TypeScript sources (no
 * compiled worker), the caller decodes everything.
 */
export class VectorDecoder {
  private static instance: VectorDecoder | null = null;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private up: Promise<void> = Promise.resolve();

  static shared(): VectorDecoder {
    VectorDecoder.instance ??= new VectorDecoder();
    return VectorDecoder.instance;
  }

  /** The compiled worker (lib/src/fiftyone/vectorDecoderWorker.js), or null when not built. */
  private static workerScript(): string | null {
    const here = join(__dirname, "vectorDecoderWorker.js");
    if (existsSync(here)) return here;
    const built = join(projectRoot(), "lib", "src", "fiftyone", "vectorDecoderWorker.js");
    return existsSync(built) ? built : null;
  }

  /**
   * Starts decoding item i into row `rows[i]` of `matrix` (SharedArrayBuffer-backed, `dim`
   * wide). `result` tells which items were decoded (`true`); the others are the caller's.
   */
  decode(items: readonly Uint8Array[], rows: readonly number[], matrix: Float32Array | Float64Array, dim: number): DecodeJob {
    const n = items.length;
    // the items' bytes in one shared buffer: posting one buffer instead of a thousand views
    const offsets = new Int32Array(new SharedArrayBuffer((n + 1) * 4));
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + items[i].byteLength;
    const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(1, offsets[n])));
    items.forEach((item, i) => bytes.set(item, offsets[i]));
    const request: DecodeRequest = {
      id: this.nextId++,
      bytes,
      offsets,
      rows: Int32Array.from(rows),
      state: new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4)),
      matrix,
      dim,
    };
    let helped = n; // items [helped, n) were claimed here
    const help = () => {
      // from the back, until an item the worker has claimed
      while (helped > 0 && Atomics.compareExchange(request.state, helped - 1, UNCLAIMED, CLAIMED) === UNCLAIMED) {
        helped--;
        decodeItem(request, helped);
      }
    };
    const decoded = () => Array.from(request.state.subarray(0, n), (s) => s === DECODED);
    const worker = this.start();
    if (!worker || n === 0) {
      help();
      return { help, result: Promise.resolve(decoded()) };
    }
    if (this.pending.size === 0) worker.ref();
    const reply = new Promise<void>((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
    return { help, result: reply.then(decoded) };
  }

  /** Starts the worker if it is not running and resolves once it is up (at once when there is no compiled worker). */
  async ready(): Promise<void> {
    const worker = this.start();
    if (!worker) return;
    worker.ref(); // until it is up: an unreferenced worker would not keep this process waiting for it
    try {
      await this.up;
    } finally {
      if (this.pending.size === 0) worker.unref();
    }
  }

  /** Starts the worker now (a reader calls this before its first query, so the thread is up when the first batch arrives). */
  start(): Worker | null {
    if (this.worker) return this.worker;
    const script = VectorDecoder.workerScript();
    if (!script) return null;
    const worker = new Worker(script);
    this.up = new Promise<void>((resolve, reject) => {
      worker.once("online", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the vector decoding worker exited (code ${code})`)));
    });
    this.up.catch(() => undefined); // also reported to pending requests below
    worker.on("message", (reply: DecodeReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      p?.resolve();
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.worker = null;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the vector decoding worker exited (code ${code})`)));
    worker.unref(); // after the listeners, which ref it
    this.worker = worker;
    return worker;
  }
}

/** A batch being decoded; `result` settles once the worker has answered (after `help()` or not). */
export interface DecodeJob {
  /** Decodes on the calling thread the items the worker has not claimed yet; returns when none is left. */
  help(): void;
  /** Per item: decoded into its row, or left to the caller. */
  result: Promise<boolean[]>;
}

const UNCLAIMED = 0;
const CLAIMED = 1;
const DECODED = 2;

export interface DecodeRequest {
  id: number;
  /** Item i is bytes[offsets[i], offsets[i + 1]). */
  bytes: Uint8Array;
  offsets: Int32Array;
  rows: Int32Array;
  /** Per item: UNCLAIMED, CLAIMED by a thread, or DECODED into its row. */
  state: Int32Array;
  matrix: Float32Array | Float64Array;
  dim: number;
}

export interface DecodeReply {
  id: number;
}

/** The worker's part: items from the front, each claimed first, until one the caller has taken. */
export function decodeClaimed(request: DecodeRequest): DecodeReply {
  for (let i = 0; i < request.rows.length && Atomics.compareExchange(request.state, i, UNCLAIMED, CLAIMED) === UNCLAIMED; i++) {
    decodeItem(request, i);
  }
  return { id: request.id };
}

/** Decodes item i of a claimed request into its row when it is the common case; marks it DECODED then. */
function decodeItem(request: DecodeRequest, i: number): void {
  const { bytes, offsets, matrix, dim } = request;
  const item = Buffer.from(bytes.buffer, bytes.byteOffset + offsets[i], offsets[i + 1] - offsets[i]);
  const raw = isNpy(item) ? item : reused.inflate(item);
  if (!raw) return;
  let data: ArrayLike<number>;
  try {
    const arr = parseNpy(raw);
    if (arr.shape.length !== 1 || arr.shape[0] !== dim) return;
    data = arr.data;
  } catch {
    return;
  }
  const row = request.rows[i] * dim;
  if (row < 0 || row + dim > matrix.length) return;
  matrix.set(data, row);
  if (firstNonFinite(matrix, row, row + dim) >= 0) return;
  Atomics.store(request.state, i, DECODED);
}

/** The native handle behind a zlib stream, as Node's own synchronous inflate drives it. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string) => void;
}

/**
 * One native inflate handle per thread, reset between values: `inflateSync` builds a
 * stream object and a native handle for every call, a quarter of the time of inflating a
 * 2 KiB vector (more while that JavaScript is not yet optimised). It drives the handle
 * the way Node's own `inflateSync` does (`_handle.writeSync`, `_writeState`), checked on
 * a known value when opened. `inflate` returns a view of its own output buffer, valid
 * until the next call, or null for anything out of the ordinary (an error, output larger
 * than its buffer, input left over, a Node without these internals): the item is then left
 * to the exact path, which inflates with `inflateSync` and reports its errors.
 */
class ReusedInflate {
  /** The handle, its write results [output left, input left], and the stream that owns the handle. */
  private current: { handle: ZlibHandle; state: Uint32Array; stream: object } | null = null;
  private unavailable = false;
  private failed = false;
  private readonly out = Buffer.allocUnsafe(1 << 16);

  inflate(input: Buffer): Buffer | null {
    const current = this.current ?? this.open();
    if (!current) return null;
    const { handle, state } = current;
    this.failed = false;
    handle.writeSync(constants.Z_FINISH, input, 0, input.length, this.out, 0, this.out.length);
    const [availOut, availIn] = state;
    if (this.failed) {
      this.discard(); // a handle that reported an error cannot be reused
      return null;
    }
    handle.reset();
    if (availOut === 0 || availIn !== 0) return null;
    return this.out.subarray(0, this.out.length - availOut);
  }

  private open(): ReusedInflate["current"] {
    if (this.unavailable) return null;
    const stream = createInflate() as unknown as { _handle?: ZlibHandle; _writeState?: Uint32Array };
    const handle = stream._handle;
    const state = stream._writeState;
    if (!handle || !state || typeof handle.writeSync !== "function" || typeof handle.reset !== "function" || Object.prototype.toString.call(state) !== "[object Uint32Array]" || state.length < 2) {
      this.unavailable = true;
      return null;
    }
    handle.onerror = () => {
      this.failed = true;
    };
    this.current = { handle, state, stream };
    const probe = Buffer.from("brain-ts inflate check");
    if (!this.inflate(deflateSync(probe))?.equals(probe)) {
      this.discard();
      this.unavailable = true;
    }
    return this.current;
  }

  private discard(): void {
    this.current?.handle.close();
    this.current = null;
  }
}

const reused = new ReusedInflate();
