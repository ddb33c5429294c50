import { join } from "node:path";
import { writeMnistImages } from "./data/mnistImages";
import { BenchContext } from "./context";
import { measureChild, median, Row } from "./measure";
import type { ExactDuplicatesResult } from "../src/runtime/jobs/exactDuplicates";

/** Exact duplicates on a few thousand images: brain-ts vs fob.compute_exact_duplicates. */
export async function benchExactDuplicates(ctx: BenchContext, perClass: number, size: number): Promise<Row> {
  const name = `bench_exact_${perClass}_${size}`;
  const records = await writeMnistImages(join(ctx.workDir, name), { perClass, exactDuplicates: perClass, nearDuplicates: 0, leaks: 0, size });
  await ctx.createDataset(name, records.map((r) => r.filepath));

  const ours: { seconds: number; peakRssMb: number; groups: Record<string, string[]> }[] = [];
  const reference: typeof ours = [];
  for (let i = 0; i < ctx.repeats; i++) {
    const m = await measureChild<ExactDuplicatesResult>(process.execPath, [join(__dirname, "runJob.js"), JSON.stringify({
      method: "compute_exact_duplicates", params: {}, database: ctx.database, dataset: name,
    })], ctx.env);
    ours.push({ seconds: m.seconds, peakRssMb: m.peakRssMb, groups: m.output.duplicates });
    const r = await measureChild<Record<string, string[]>>(ctx.python, ["-c", `
import json, resource, time
import fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(name)})
t0 = time.perf_counter()
out = fob.compute_exact_duplicates(ds, progress=False)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": out}))
`], ctx.env);
    reference.push({ seconds: r.seconds, peakRssMb: r.peakRssMb, groups: r.output });
  }
  const canonical = (g: Record<string, string[]>) => JSON.stringify(Object.entries(g).sort());
  const agree = ours.every((o) => canonical(o.groups) === canonical(reference[0].groups));
  if (!agree) {
    const a = Object.keys(ours[0].groups).length;
    const b = Object.keys(reference[0].groups).length;
    console.error(`exact duplicates disagree: ${a} groups vs ${b} in the reference`);
    console.error(JSON.stringify(Object.entries(ours[0].groups).slice(0, 3)), JSON.stringify(Object.entries(reference[0].groups).slice(0, 3)));
  }
  return {
    benchmark: "exact duplicates (content hash)",
    size: `${records.length} PNGs of ${size}×${size}, ${perClass} duplicates`,
    ours: { seconds: median(ours.map((o) => o.seconds)), peakRssMb: Math.max(...ours.map((o) => o.peakRssMb)) },
    reference: { seconds: median(reference.map((o) => o.seconds)), peakRssMb: Math.max(...reference.map((o) => o.peakRssMb)) },
    agree,
  };
}
