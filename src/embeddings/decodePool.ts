import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { projectRoot } from "../fiftyone/localDatabase";
import { type ImageJob, type InputSpec, type PreparedImage, prepareImage } from "./imagePipeline";

/**
 * Image preparation (decode, crop, resize, normalise) on worker threads, so the main
 * thread only feeds the model: while onnxruntime runs a batch, the workers prepare the
 * next ones. Jobs go to the worker with the fewest in flight. Without the compiled worker
 * script (running from TypeScript sources) or with `threads: 0`, images are prepared on
 * the main thread (sharp still decodes on libuv's threads).
 */
export class DecodePool {
  private readonly workers: Array<{ worker: Worker; inFlight: number }> = [];
  private readonly pending = new Map<number, { resolve: (p: PreparedImage) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(threads = DecodePool.defaultThreads()) {
    const script = DecodePool.workerScript();
    if (!script) return;
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(script);
      worker.unref();
      const entry = { worker, inFlight: 0 };
      worker.on("message", (msg: { id: number; prepared?: PreparedImage; error?: string }) => {
        entry.inFlight--;
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (!p) return;
        if (msg.prepared) p.resolve({ ...msg.prepared, data: new Float32Array(msg.prepared.data.buffer) });
        else p.reject(new Error(msg.error));
      });
      worker.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      this.workers.push(entry);
    }
  }

  /** Half the cores (the model uses the rest), at least 1, at most 4. */
  static defaultThreads(): number {
    return Math.max(1, Math.min(4, Math.floor(cpus().length / 2)));
  }

  /** The compiled worker (lib/src/embeddings/decodeWorker.js), or null when not built. */
  static workerScript(): string | null {
    const here = join(__dirname, "decodeWorker.js");
    if (existsSync(here)) return here;
    const built = join(projectRoot(), "lib", "src", "embeddings", "decodeWorker.js");
    return existsSync(built) ? built : null;
  }

  get threads(): number {
    return this.workers.length;
  }

  prepare(job: ImageJob, spec: InputSpec): Promise<PreparedImage> {
    if (this.workers.length === 0) return prepareImage(job, spec);
    const entry = this.workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    entry.inFlight++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, job, spec });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}
