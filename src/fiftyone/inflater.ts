import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { constants, createInflate, deflateSync, inflateSync } from "node:zlib";
import { projectRoot } from "./localDatabase";

/**
 * Inflates FiftyOne's zlib-compressed numpy bytes on a worker thread, so a reader's main
 * thread parses the next batch of documents while this one is inflated: at 50 000 × 512
 * float32 vectors, inflating is ≈ 0.55 s of a 1.9 s read on one thread. The caller that
 * would otherwise wait for a batch helps instead (`help()`): the worker takes items from
 * the front, the caller from the back, each claiming an item in a shared array before
 * inflating it, so both cores inflate and neither waits for the other (100 000 × 512:
 * the read ≈ 2.3 s → 1.7 s). One worker per process, started on first use;
 * it keeps the process alive only while a request is pending. Running from TypeScript
 * sources (no compiled worker), the caller inflates everything.
 */
export class Inflater {
  private static instance: Inflater | null = null;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: InflateReply) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private up: Promise<void> = Promise.resolve();

  static shared(): Inflater {
    Inflater.instance ??= new Inflater();
    return Inflater.instance;
  }

  /** The compiled worker (lib/src/fiftyone/inflateWorker.js), or null when not built. */
  private static workerScript(): string | null {
    const here = join(__dirname, "inflateWorker.js");
    if (existsSync(here)) return here;
    const built = join(projectRoot(), "lib", "src", "fiftyone", "inflateWorker.js");
    return existsSync(built) ? built : null;
  }

  /**
   * Starts inflating items (each to its .npy bytes, or as given when not compressed, or the
   * Error inflating it raised) on the worker.
   */
  inflate(items: Uint8Array[]): InflateJob {
    const claims = new Int32Array(new SharedArrayBuffer(Math.max(1, items.length) * 4));
    const local = new Array<Buffer | Error>(items.length);
    let helped = items.length; // items [helped, length) were inflated here
    const help = () => {
      // from the back, until an item the worker has claimed
      while (helped > 0 && Atomics.compareExchange(claims, helped - 1, 0, 1) === 0) {
        helped--;
        local[helped] = inflateOne(items[helped]);
      }
    };
    const worker = this.start();
    if (!worker || items.length === 0) {
      help();
      return { help, result: Promise.resolve(local) };
    }
    const id = this.nextId++;
    if (this.pending.size === 0) worker.ref();
    const reply = new Promise<InflateReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, items, claims } satisfies InflateRequest);
    });
    const result = reply.then((r) => {
      const theirs = unpack(r);
      theirs.forEach((v, i) => (local[i] = v));
      return local;
    });
    return { help, result };
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
    const script = Inflater.workerScript();
    if (!script) return null;
    const worker = new Worker(script);
    this.up = new Promise<void>((resolve, reject) => {
      worker.once("online", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the inflate worker exited (code ${code})`)));
    });
    this.up.catch(() => undefined); // also reported to pending requests below
    worker.on("message", (reply: InflateReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      p?.resolve(reply);
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.worker = null;
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the inflate worker exited (code ${code})`)));
    worker.unref(); // after the listeners, which ref it
    this.worker = worker;
    return worker;
  }
}

/** A batch being inflated; `result` settles once the worker has answered (after `help()` or not). */
export interface InflateJob {
  /** Inflates on the calling thread the items the worker has not claimed yet; returns when none is left. */
  help(): void;
  result: Promise<Array<Buffer | Error>>;
}

function unpack(reply: InflateReply): Array<Buffer | Error> {
  const data = Buffer.from(reply.data);
  return reply.errors.map((error, i) => (error === null ? data.subarray(reply.offsets[i], reply.offsets[i] + reply.lengths[i]) : new Error(error)));
}

export interface InflateRequest {
  id: number;
  items: Uint8Array[];
  /** One slot per item, set to 1 by whichever thread takes the item. */
  claims: Int32Array;
}

/** The worker's items (a prefix of the request's) in one buffer (transferred, not copied): item i is `lengths[i]` bytes at `offsets[i]`. */
export interface InflateReply {
  id: number;
  data: ArrayBuffer;
  offsets: number[];
  lengths: number[];
  errors: Array<string | null>;
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** An item's .npy bytes: inflated (zlib) unless it already is .npy; the Error inflating raised. */
function inflateOne(item: Uint8Array): Buffer | Error {
  const buf = Buffer.from(item.buffer, item.byteOffset, item.byteLength);
  if (buf.subarray(0, NPY_MAGIC.length).equals(NPY_MAGIC)) return buf;
  const fast = reused.inflate(buf);
  if (fast) return fast;
  try {
    // An output chunk near the expected size: the 16 KiB default costs more than the inflating of a small vector.
    return inflateSync(buf, { chunkSize: Math.max(1024, Math.ceil(buf.length * 1.25) + 256) });
  } catch (err) {
    return new Error((err as Error).message); // as the worker's errors arrive: the message only
  }
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
 * a known value when opened; `inflate` returns null for anything out of the ordinary (an
 * error, output larger than its buffer, input left over, a Node without these
 * internals), and the caller then uses `inflateSync`, with its exact results and errors.
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
    return Buffer.from(this.out.subarray(0, this.out.length - availOut));
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

/** The worker's part: items from the front, each claimed first, until one the caller has taken. */
export function inflateClaimed(request: InflateRequest): InflateReply {
  const parts: Buffer[] = [];
  const errors: Array<string | null> = [];
  for (let i = 0; i < request.items.length && Atomics.compareExchange(request.claims, i, 0, 1) === 0; i++) {
    const out = inflateOne(request.items[i]);
    if (out instanceof Error) {
      parts.push(Buffer.alloc(0));
      errors.push(out.message);
    } else {
      parts.push(out);
      errors.push(null);
    }
  }
  // Slots start at multiples of 8, so the arrays (aligned within their .npy bytes) are read in place.
  const offsets: number[] = [];
  let end = 0;
  for (const p of parts) {
    offsets.push(end);
    end += Math.ceil(p.length / 8) * 8;
  }
  const data = new ArrayBuffer(end);
  const out = new Uint8Array(data);
  parts.forEach((p, i) => out.set(p, offsets[i]));
  return { id: request.id, data, offsets, lengths: parts.map((p) => p.length), errors };
}
