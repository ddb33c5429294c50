import { parentPort } from "node:worker_threads";
import sharp from "sharp";
import { type ImageJob, type InputSpec, prepareImage } from "./imagePipeline";

/** Worker side of DecodePool: prepares images and sends the tensors back (transferred, not copied). */
export interface DecodeRequest {
  id: number;
  job: ImageJob;
  spec: InputSpec;
}

// Parallelism comes from the pool's workers; libvips threads per image would only
// compete with them and with onnxruntime for the same cores.
sharp.concurrency(1);

parentPort?.on("message", (msg: DecodeRequest) => {
  prepareImage(msg.job, msg.spec).then(
    (prepared) => parentPort?.postMessage({ id: msg.id, prepared }, [prepared.data.buffer as ArrayBuffer]),
    (err: Error) => parentPort?.postMessage({ id: msg.id, error: err.message }),
  );
});
