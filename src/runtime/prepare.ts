import { VectorDecoder } from "../fiftyone/vectorDecoder";
import { prepareMatmul64 } from "../index/matmul64";
import { kmeansKernels } from "../methods/kmeansKernels";

/**
 * Starts what jobs would otherwise start on first use and then wait for: the worker that
 * decodes stored vectors (tens of milliseconds to come up, on a core the job needs), the
 * k-means kernels' addon, and onnxruntime with the float64 product sessions PCA uses. The
 * service runs this when it starts, so its first job finds them as every later job does.
 */
export async function prepareRuntime(): Promise<void> {
  kmeansKernels();
  await Promise.all([VectorDecoder.shared().ready(), prepareMatmul64()]);
}
