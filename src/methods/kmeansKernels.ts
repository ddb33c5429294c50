import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * K-means' passes over the data, in the native addon built from `native/kmeansKernels.c`
 * (by `npm run build`): float64 arithmetic on float32 or float64 rows without a float64
 * copy of the data; the products are one multi-threaded pass per call.
 */
const KERNEL_COLUMNS = 4;

export type Rows = Float32Array | Float64Array;

/** The rows as a typed array the kernels take (float32 and float64 arrays as they are). */
export function asRows(vectors: ArrayLike<number>): Rows {
  return vectors instanceof Float32Array || vectors instanceof Float64Array ? vectors : Float64Array.from(vectors);
}

interface KMeansKernels {
  /**
   * x = v − column mean (float32 data as scikit-learn centers it: the mean accumulated row by
   * row in float32, centered values rounded to float32), sq[i] = ‖xᵢ‖², mean = the column
   * mean; returns the mean of the columns' (population) variances.
   */
  center<T extends Rows>(v: T, n: number, dim: number, x: T, sq: Float64Array, mean: Float64Array): number;
  /**
   * One k-means++ step over the candidate rows `ids` of the centered data x (sq: its squared
   * row norms): each candidate's squared distances to every row (rounded to float32 when
   * `float32`), their minimum with `closest` and its potential; the first candidate of least
   * potential wins. `closest` becomes the winner's minimum, `cum` its running sum for the
   * next draws, `result` [index in ids, potential]. With `closest` all +Infinity it scores
   * one first center.
   */
  seedStep(x: Rows, n: number, dim: number, sq: Float64Array, float32: boolean, ids: Int32Array, closest: Float64Array, cum: Float64Array, result: Float64Array): void;
  /** out[i] = ‖vᵢ − centers[labels[i]]‖, in float64. */
  centerDistances(v: Rows, n: number, dim: number, centers: Float64Array, labels: Int32Array, out: Float64Array): void;
  /**
   * labels[i] = the first q < k minimising csq[q] − 2·xᵢ·c_q (ct: the k centers transposed,
   * dim × kp, kp = paddedColumns(k), zero-padded); sums (k × dim) and counts (k) are
   * overwritten with each cluster's sum of rows and its size.
   */
  lloyd(x: Rows, n: number, dim: number, ct: Float64Array, kp: number, k: number, csq: Float64Array, labels: Int32Array, sums: Float64Array, counts: Float64Array): void;
}

const ADDON = join("native", "build", "kmeansKernels.node");
let loaded: KMeansKernels | undefined;

/** The addon, found from this file's folder upwards (the source tree or lib/). */
export function kmeansKernels(): KMeansKernels {
  if (loaded) return loaded;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, ADDON);
    if (existsSync(file)) {
      loaded = require(file) as KMeansKernels;
      return loaded;
    }
    if (dirname(dir) === dir) throw new Error(`The k-means kernels (${ADDON}) are not built: run \`npm run build\``);
  }
}

/** Columns padded to the kernels' block width. */
export function paddedColumns(columns: number): number {
  return Math.ceil(columns / KERNEL_COLUMNS) * KERNEL_COLUMNS;
}
