import { SerializedError } from "../errors";

/**
 * The runtime's wire protocol on its Unix socket: the client writes one JSON request
 * line (a JobRequest); the runtime answers with JSON lines, any number of `progress`
 * messages then exactly one `result` or `error`. Closing the connection cancels the job.
 */
export type ServiceMessage =
  | { type: "progress"; progress: number; label?: string }
  | { type: "result"; result: unknown }
  | { type: "error"; error: SerializedError };

export function encode(message: ServiceMessage): string {
  return JSON.stringify(message) + "\n";
}
