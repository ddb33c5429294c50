import { parentPort } from "node:worker_threads";
import { decodeClaimed, type DecodeRequest } from "./vectorDecoder";

/** VectorDecoder's worker thread: decodes into the shared matrix, answers when its part is done. */
parentPort?.on("message", (request: DecodeRequest) => {
  parentPort?.postMessage(decodeClaimed(request));
});
