import { parentPort } from "node:worker_threads";
import { inflateStored, type InflateRequest } from "./inflater";

/** Inflater's worker thread. */
parentPort?.on("message", (request: InflateRequest) => {
  const reply = inflateStored(request);
  parentPort?.postMessage(reply, [reply.data]);
});
