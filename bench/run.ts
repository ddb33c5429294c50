import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { findPython, holdFiftyOneDatabase, projectRoot } from "../src/fiftyone/localDatabase";
import { BenchContext, datasetCreator } from "./context";
import { benchExactDuplicates } from "./exactDuplicates.bench";
import { benchNearDuplicates, nearDuplicateSizes } from "./nearDuplicates.bench";
import { benchNearDuplicatesQuality, formatQuality } from "./nearDuplicatesQuality.bench";
import { formatTable, Row } from "./measure";

/**
 * Side-by-side benchmarks: this runtime and the Python reference (fiftyone-brain) on the
 * same inputs, on this machine, in one run. Prints a Markdown table and writes it to
 * bench/RESULTS.md. Usage: npm run bench [-- --repeats N]
 */
async function main(): Promise<void> {
  const repeatsArg = process.argv.indexOf("--repeats");
  const repeats = repeatsArg > 0 ? Number(process.argv[repeatsArg + 1]) : 3;
  const root = projectRoot();
  const python = findPython(root);
  const dbName = `brain_ts_bench_${process.pid}`;
  const held = await holdFiftyOneDatabase(python, { ...process.env, FIFTYONE_DATABASE_NAME: dbName });
  const env = {
    ...process.env,
    FIFTYONE_DATABASE_URI: held.location.uri,
    FIFTYONE_DATABASE_NAME: dbName,
    FIFTYONE_DATABASE_VALIDATION: "false",
    FIFTYONE_DO_NOT_TRACK: "true",
  };
  const workDir = join(tmpdir(), `brain-ts-bench-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  const ctx: BenchContext = { database: held.location, env, python, workDir, repeats, createDataset: datasetCreator(python, env) };
  const rows: Row[] = [];
  let qualityTable = "";
  try {
    rows.push(await benchExactDuplicates(ctx, 300, 96));
    rows.push(await benchExactDuplicates(ctx, 300, 1024));
    const near = nearDuplicateSizes();
    for (const n of near.sizes) rows.push(await benchNearDuplicates(ctx, n, near.dim));
    qualityTable = `\n\n${formatQuality(await benchNearDuplicatesQuality(ctx))}`;
  } finally {
    const client = await MongoClient.connect(held.location.uri);
    await client.db(dbName).dropDatabase();
    await client.close();
    await held.release();
  }
  const table = formatTable(rows) + qualityTable;
  const report = `Command: \`npm run bench\` (${repeats} runs each, median time, max peak RSS; ${new Date().toISOString().slice(0, 10)}, ${require("node:os").cpus().length} cores)\n\n${table}\n`;
  writeFileSync(join(root, "bench", "RESULTS.md"), report);
  console.log(report);
  if (rows.some((r) => !r.agree)) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
