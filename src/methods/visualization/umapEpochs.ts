import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { BrainError } from "../../errors";
import { yieldToEventLoop } from "../eventLoop";
import { Random, seededRandom } from "./random";

/**
 * UMAP's SGD epochs (umap-learn 0.5's `optimize_layout_euclidean`): every epoch, each edge
 * due for a sample pulls its two ends together and pushes its head away from 5 random
 * points per sample, gradients clipped at 4, the learning rate decaying linearly to 0.
 *
 * Seeded runs take one thread, so a seed gives the same points (umap-learn does the same).
 * Unseeded runs split the edges over all cores, each worker updating the shared layout
 * without locks between per-epoch barriers, as umap-learn's parallel epochs do: the
 * result depends on thread timing, like theirs.
 */
export interface Edges {
  head: Int32Array;
  tail: Int32Array;
  epochsPerSample: Float64Array;
}

export interface EpochOptions {
  nEpochs: number;
  a: number;
  b: number;
  seed?: number | null;
  signal?: AbortSignal;
  progress?: (fraction: number) => void;
  /** Workers for unseeded runs (default: the number of cores). */
  workers?: number;
}

const NEGATIVE_SAMPLE_RATE = 5;
/** Below this many edges an unseeded run stays on one thread (starting workers costs more). */
const PARALLEL_MIN_EDGES = 100_000;

/**
 * One epoch over edges [from, to). Self-contained (no free variables besides Math), as its
 * source is also what the workers run. `nextSample` / `nextNegative` hold the edges'
 * schedules from `from` on; an edge takes `negativeRate` negative samples per positive one.
 */
export function epochKernel(
  y: Float64Array, n: number, nd: number, head: Int32Array, tail: Int32Array, epochsPerSample: Float64Array,
  nextSample: Float64Array, nextNegative: Float64Array, from: number, to: number,
  e: number, alpha: number, a: number, b: number, negativeRate: number, random: () => number,
): void {
  for (let i = from; i < to; i++) {
    const s = i - from;
    if (nextSample[s] > e) continue;
    const j = head[i] * nd;
    const k = tail[i] * nd;
    let d2 = 0;
    for (let c = 0; c < nd; c++) d2 += (y[j + c] - y[k + c]) ** 2;
    if (d2 > 0) {
      // exp(log) is twice as fast as Math.pow in V8, on ≈ 6 calls per edge sample.
      const pb = Math.exp((b - 1) * Math.log(d2));
      const coeff = (-2 * a * b * pb) / (a * pb * d2 + 1);
      for (let c = 0; c < nd; c++) {
        const g = coeff * (y[j + c] - y[k + c]);
        const step = (g > 4 ? 4 : g < -4 ? -4 : g) * alpha;
        y[j + c] += step;
        y[k + c] -= step;
      }
    }
    nextSample[s] += epochsPerSample[i];
    const perNegative = epochsPerSample[i] / negativeRate;
    const negatives = Math.floor((e - nextNegative[s]) / perNegative);
    for (let p = 0; p < negatives; p++) {
      const o = Math.floor(random() * n) * nd;
      if (o === j) continue;
      let q2 = 0;
      for (let c = 0; c < nd; c++) q2 += (y[j + c] - y[o + c]) ** 2;
      if (q2 <= 0) continue;
      const coeff = (2 * b) / ((0.001 + q2) * (a * Math.exp(b * Math.log(q2)) + 1));
      for (let c = 0; c < nd; c++) {
        const g = coeff * (y[j + c] - y[o + c]);
        y[j + c] += (g > 4 ? 4 : g < -4 ? -4 : g) * alpha;
      }
    }
    nextNegative[s] += negatives * perNegative;
  }
}

/** Runs the epochs on `layout` (n × nd, updated in place). */
export async function runEpochs(layout: Float64Array, n: number, nd: number, edges: Edges, options: EpochOptions): Promise<void> {
  const workers = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  if (options.seed === null || options.seed === undefined) {
    if (workers > 1 && edges.head.length >= PARALLEL_MIN_EDGES) return parallelEpochs(layout, n, nd, edges, options, workers);
  }
  const random: Random = seededRandom(options.seed);
  const { head, tail, epochsPerSample } = edges;
  const nextSample = Float64Array.from(epochsPerSample);
  const nextNegative = epochsPerSample.map((e) => e / NEGATIVE_SAMPLE_RATE);
  const { nEpochs, a, b } = options;
  for (let e = 0; e < nEpochs; e++) {
    if ((e & 7) === 0) {
      await yieldToEventLoop();
      options.signal?.throwIfAborted();
      options.progress?.(e / nEpochs);
    }
    epochKernel(layout, n, nd, head, tail, epochsPerSample, nextSample, nextNegative, 0, head.length, e, 1 - e / nEpochs, a, b, NEGATIVE_SAMPLE_RATE, random);
  }
  options.progress?.(1);
}

// control: [0] stop asked, [1] arrivals at the barrier, [2] barrier generation, [3] epochs done, [4] stop decided
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require("node:worker_threads");
const epoch = (0, eval)("(" + w.kernel + ")");
const random = (0, eval)("(" + w.rng + ")")(w.seed);
const y = new Float64Array(w.y);
const head = new Int32Array(w.head);
const tail = new Int32Array(w.tail);
const eps = new Float64Array(w.eps);
const ctl = new Int32Array(w.ctl);
const nextSample = eps.slice(w.from, w.to);
const nextNegative = nextSample.map((v) => v / w.negativeRate);
for (let e = 0; e < w.nEpochs; e++) {
  epoch(y, w.n, w.nd, head, tail, eps, nextSample, nextNegative, w.from, w.to, e, 1 - e / w.nEpochs, w.a, w.b, w.negativeRate, random);
  const gen = Atomics.load(ctl, 2);
  if (Atomics.add(ctl, 1, 1) === w.workers - 1) {
    // The last to arrive decides for everyone whether to go on, then releases them.
    Atomics.store(ctl, 1, 0);
    Atomics.store(ctl, 3, e + 1);
    Atomics.store(ctl, 4, Atomics.load(ctl, 0));
    Atomics.add(ctl, 2, 1);
    Atomics.notify(ctl, 2);
  } else {
    while (Atomics.load(ctl, 2) === gen) Atomics.wait(ctl, 2, gen);
  }
  if (Atomics.load(ctl, 4) !== 0) break;
}
parentPort.postMessage("done");
`;

function shared<T extends Float64Array | Int32Array>(source: T): T {
  const out = new (source.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(source.byteLength));
  out.set(source);
  return out;
}

async function parallelEpochs(layout: Float64Array, n: number, nd: number, edges: Edges, options: EpochOptions, count: number): Promise<void> {
  const y = shared(layout);
  const control = new Int32Array(new SharedArrayBuffer(5 * 4));
  const E = edges.head.length;
  const common = {
    kernel: epochKernel.toString(),
    rng: seededRandom.toString(),
    y: y.buffer, head: shared(edges.head).buffer, tail: shared(edges.tail).buffer, eps: shared(edges.epochsPerSample).buffer, ctl: control.buffer,
    n, nd, a: options.a, b: options.b, nEpochs: options.nEpochs, negativeRate: NEGATIVE_SAMPLE_RATE, workers: count,
  };
  const workers = Array.from({ length: count }, (_, w) => new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ...common, from: Math.round((w * E) / count), to: Math.round(((w + 1) * E) / count), seed: Math.floor(Math.random() * 2 ** 32) },
  }));
  const release = () => {
    // Stops every worker at its next barrier, and wakes any that wait there.
    Atomics.store(control, 0, 1);
    Atomics.store(control, 4, 1);
    Atomics.add(control, 2, 1);
    Atomics.notify(control, 2);
  };
  const poll = setInterval(() => {
    if (options.signal?.aborted) Atomics.store(control, 0, 1);
    options.progress?.(Atomics.load(control, 3) / options.nEpochs);
  }, 100);
  try {
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", (err) => reject(new BrainError("INTERNAL", `A UMAP worker failed: ${err.message}`)));
      worker.once("exit", (code) => reject(new BrainError("INTERNAL", `A UMAP worker stopped (exit code ${code})`)));
    })));
  } catch (err) {
    release();
    throw err;
  } finally {
    clearInterval(poll);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  options.signal?.throwIfAborted();
  layout.set(y);
  options.progress?.(1);
}
