import { parentPort } from "node:worker_threads";
import { inflateClaimed, type InflateRequest } from "./inflater";

/** Inflater's worker thread. */
parentPort?.on("message", (request: InflateRequest) => {
  const reply = inflateClaimed(request);
  parentPort?.postMessage(reply, [reply.data]);
});
