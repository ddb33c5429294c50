import { parentPort } from "node:worker_threads";
import { type ImageJob, type InputSpec, prepareImage } from "./imagePipeline";

/** Worker side of DecodePool: prepares images and sends the tensors back (transferred, not copied). */
export interface DecodeRequest {
  id: number;
  job: ImageJob;
  spec: InputSpec;
}

parentPort?.on("message", (msg: DecodeRequest) => {
  prepareImage(msg.job, msg.spec).then(
    (prepared) => parentPort?.postMessage({ id: msg.id, prepared }, [prepared.data.buffer as ArrayBuffer]),
    (err: Error) => parentPort?.postMessage({ id: msg.id, error: err.message }),
  );
});
