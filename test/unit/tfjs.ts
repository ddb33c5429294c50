// Loads @tensorflow/tfjs on its pure-JS cpu backend for parity checks, without its
// "install tfjs-node to speed things up" banner.
import type * as TF from "@tensorflow/tfjs";

let loaded: Promise<typeof TF> | null = null;

export function loadTfjs(): Promise<typeof TF> {
  loaded ??= (async () => {
    const warn = console.warn;
    const log = console.log;
    console.warn = console.log = () => undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tf = require("@tensorflow/tfjs") as typeof TF;
      await tf.setBackend("cpu");
      await tf.ready();
      tf.tensor([0]).dispose(); // the banner comes with the first tensor
      return tf;
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  return loaded;
}

/** NCHW → NHWC for `n` images of c×h×w. */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let z = 0; z < w; z++) out[((i * h + y) * w + z) * c + k] = x[((i * c + k) * h + y) * w + z];
  return out;
}

/** Largest |a - b| and largest |a|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return { diff, scale };
}

/**
 * Runs a TF.js LayersModel (topology + weights as stored in model.json and its shards) on
 * NHWC inputs and returns the output of `layer`, on the pure-JS cpu backend in a worker
 * thread: the same code runs several times slower inside Jest's vm context.
 */
export async function tfjsLayerOutput(
  model: { topology: unknown; weightSpecs: unknown; weightData: Buffer },
  layer: string,
  nhwc: Float32Array,
  shape: [number, number, number, number],
): Promise<Float32Array> {
  const { Worker } = await import("node:worker_threads");
  const code = `
    const { parentPort, workerData: d } = require("node:worker_threads");
    console.warn = console.log = () => undefined;
    const tf = require(d.tfjsPath);
    (async () => {
      await tf.setBackend("cpu");
      await tf.ready();
      const m = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: d.topology, weightSpecs: d.weightSpecs, weightData: d.weightData }));
      const sub = tf.model({ inputs: m.inputs, outputs: m.getLayer(d.layer).output });
      const out = sub.predict(tf.tensor4d(d.input, d.shape)).dataSync();
      parentPort.postMessage(out, [out.buffer]);
    })().catch((e) => { throw e; });
  `;
  const weightData = model.weightData.buffer.slice(model.weightData.byteOffset, model.weightData.byteOffset + model.weightData.byteLength);
  const worker = new Worker(code, {
    eval: true,
    workerData: { tfjsPath: require.resolve("@tensorflow/tfjs"), topology: model.topology, weightSpecs: model.weightSpecs, weightData, layer, input: nhwc, shape },
  });
  try {
    return await new Promise<Float32Array>((resolve, reject) => {
      worker.once("message", (data: Float32Array) => resolve(new Float32Array(data)));
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`tfjs worker exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}
