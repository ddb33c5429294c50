import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { BenchContext } from "./context";
import { measureChild, median, Row } from "./measure";
import type { NearDuplicatesResult } from "../src/runtime/jobs/nearDuplicates";

/**
 * Near duplicates from an embeddings field: brain-ts vs fob.compute_near_duplicates on
 * the same stored embeddings and threshold. n random Gaussian vectors of `dim`, 5% of
 * them noisy copies of others (cosine distances from ~0.001 to ~0.1), threshold 0.2.
 * The reference uses its n×n matrix up to 15000 samples and sklearn's NearestNeighbors
 * above; both must give the same unique and duplicate sets.
 */
export async function benchNearDuplicates(ctx: BenchContext, n: number, dim: number, threshold = 0.2): Promise<Row> {
  const name = `bench_near_${n}_${dim}`;
  execFileSync(ctx.python, ["-c", `
import numpy as np, fiftyone as fo
n, dim = ${n}, ${dim}
rng = np.random.RandomState(0)
emb = rng.randn(n, dim).astype(np.float32)
copies = rng.choice(n, n // 20, replace=False)
for k, i in enumerate(copies):
    src = (i * 7919 + 13) % n
    emb[i] = emb[src] + rng.randn(dim).astype(np.float32) * (0.05 + 0.4 * (k % 10) / 10)
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/bench/near_%06d.png" % i) for i in range(n)], progress=False)
ds.set_values("emb", list(emb), progress=False)
`], { env: ctx.env, stdio: ["ignore", "ignore", "inherit"] });

  type Sets = { unique: string[]; duplicates: string[] };
  const ours: { seconds: number; peakRssMb: number; sets: Sets }[] = [];
  const reference: typeof ours = [];
  for (let i = 0; i < ctx.repeats; i++) {
    const m = await measureChild<NearDuplicatesResult>(process.execPath, [join(__dirname, "runJob.js"), JSON.stringify({
      method: "compute_near_duplicates", params: { embeddings: "emb", threshold, metric: "cosine" }, database: ctx.database, dataset: name,
    })], ctx.env);
    ours.push({ seconds: m.seconds, peakRssMb: m.peakRssMb, sets: { unique: m.output.uniqueIds, duplicates: m.output.duplicateIds } });
    const r = await measureChild<Sets>(ctx.python, ["-c", `
import json, resource, time
import fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(name)})
t0 = time.perf_counter()
index = fob.compute_near_duplicates(ds, embeddings="emb", threshold=${threshold}, progress=False)
seconds = time.perf_counter() - t0
out = {"unique": list(index.unique_ids), "duplicates": list(index.duplicate_ids)}
print(json.dumps({"seconds": seconds, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "output": out}))
`], ctx.env);
    reference.push({ seconds: r.seconds, peakRssMb: r.peakRssMb, sets: r.output });
  }
  const key = (s: Sets) => JSON.stringify([s.unique, s.duplicates]);
  const agree = ours.every((o) => key(o.sets) === key(reference[0].sets));
  if (!agree) {
    console.error(`near duplicates disagree at n=${n}: ${ours[0].sets.duplicates.length} duplicates vs ${reference[0].sets.duplicates.length} in the reference`);
  }
  return {
    benchmark: "near duplicates (embeddings field, cosine, threshold 0.2)",
    size: `${n} × ${dim}, ${ours[0].sets.duplicates.length} duplicates`,
    ours: { seconds: median(ours.map((o) => o.seconds)), peakRssMb: Math.max(...ours.map((o) => o.peakRssMb)) },
    reference: { seconds: median(reference.map((o) => o.seconds)), peakRssMb: Math.max(...reference.map((o) => o.peakRssMb)) },
    agree,
  };
}

/** Sizes from BENCH_NEAR_SIZES (comma-separated; default 10000,50000) and BENCH_NEAR_DIM (default 256). */
export function nearDuplicateSizes(): { sizes: number[]; dim: number } {
  const sizes = (process.env.BENCH_NEAR_SIZES ?? "10000,50000").split(",").map(Number).filter((x) => x > 0);
  return { sizes, dim: Number(process.env.BENCH_NEAR_DIM ?? 256) };
}
