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
