import { closeDatabases, openDatabase } from "../src/fiftyone/database";
import { loadDataset } from "../src/fiftyone/datasets";
import { executeJob, JobRequest } from "../src/runtime/execute";

/** Child process of the harness: runs one runtime job and prints its Measurement. */
async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as JobRequest;
  // Connected with the dataset loaded, as the Python side is when its clock starts.
  await loadDataset(await openDatabase(request.database), request.dataset);
  const t0 = process.hrtime.bigint();
  const output = await executeJob(request);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await closeDatabases();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, peakRssMb, output }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
