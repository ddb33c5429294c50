import { readFileSync } from "node:fs";
import { closeDatabases, DatabaseLocation } from "../src/fiftyone/database";
import { executeJob } from "../src/runtime/execute";
import { quantile } from "./measure";

/**
 * Child of the warm-query benchmark: builds an index through the runtime's job, then times
 * sort_by_similarity requests in the same process (as the warm runtime serves them: the
 * index cached, each request reading the run and the dataset from the database).
 */
interface Args {
  database: DatabaseLocation;
  dataset: string;
  backend: string;
  /** A JSON file of the query vectors (too large for a command-line argument at 512-d). */
  queriesFile: string;
  k: number;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const base = { database: a.database, dataset: a.dataset };
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const info = (await executeJob({ ...base, method: "compute_similarity", params: { brain_key: "warm", embeddings: "emb", backend: a.backend } })) as { size: number };
  const buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytesPerVector = (process.memoryUsage().rss - rss0) / info.size;
  const times: number[] = [];
  for (const q of JSON.parse(readFileSync(a.queriesFile, "utf8")) as number[][]) {
    const t = process.hrtime.bigint();
    await executeJob({ ...base, method: "sort_by_similarity", params: { brain_key: "warm", query_vector: q, k: a.k } });
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  await closeDatabases();
  times.sort((x, y) => x - y);
  console.log(JSON.stringify({ seconds: quantile(times, 0.95), peakRssMb: process.resourceUsage().maxRSS / 1024, output: { buildSeconds, bytesPerVector, p50: times[times.length >> 1] } }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
