import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { createReadStream } from "node:fs";

/** Content hash of a file, read as a stream so large media never sit in memory. */
export function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
    stream.on("data", (chunk) => hash.update(chunk));
    stream.on("error", reject);
    stream.on("end", () => resolve(hash.digest("base64")));
  });
}

export interface HashFailure {
  index: number;
  error: string;
}

/**
 * Hashes files with bounded concurrency, keeping results in input order. Reading is
 * I/O bound, so a few reads in flight keep the disk busy while hashing runs.
 */
export async function hashFiles(
  paths: readonly string[],
  options: { concurrency?: number; signal?: AbortSignal; onDone?: (done: number) => void } = {},
): Promise<{ hashes: (string | null)[]; failures: HashFailure[] }> {
  const concurrency = Math.max(1, options.concurrency ?? 8);
  // Each in-flight read listens to the signal.
  if (options.signal) setMaxListeners(concurrency + 16, options.signal);
  const hashes: (string | null)[] = new Array(paths.length).fill(null);
  const failures: HashFailure[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      options.signal?.throwIfAborted();
      try {
        hashes[i] = await hashFile(paths[i], options.signal);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        failures.push({ index: i, error: (err as Error).message });
      }
      options.onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  failures.sort((a, b) => a.index - b.index);
  return { hashes, failures };
}
