import { closeDatabases, openDatabase } from "../src/fiftyone/database";
import { loadDataset } from "../src/fiftyone/datasets";
import { executeJob, JobRequest } from "../src/runtime/execute";
import { prepareRuntime } from "../src/runtime/prepare";

/** Child process of the harness: runs one runtime job and prints its Measurement. */
async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as JobRequest;
  // Connected with the dataset loaded, as the Python side is when its clock starts, and the
  // runtime prepared as the service prepares it when it starts (src/service/main.ts).
  await loadDataset(await openDatabase(request.database), request.dataset);
  await prepareRuntime();
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
