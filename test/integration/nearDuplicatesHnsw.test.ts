import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { NearDuplicatesResult } from "../../src/runtime/jobs/nearDuplicates";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = `brain_ts_near_dups_hnsw_${process.pid}`;

function request(params: Record<string, unknown>): JobRequest {
  return { method: "compute_near_duplicates", params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}

beforeAll(async () => {
  // 400 random 32-d embeddings and 40 clear-cut noisy copies (cosine distance ≤ 0.05).
  await runPython(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(5)
base = rng.randn(400, 32)
copies = [base[i] + rng.randn(32) * 0.03 * (1 + i % 5) for i in range(0, 400, 10)]
emb = list(base) + copies
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.add_samples([fo.Sample(filepath="/tmp/ndh_%d.png" % i) for i in range(len(emb))])
ds.set_values("emb", emb)
print(json.dumps(len(ds)))
`);
});
afterAll(async () => {
  await runPython(`
import fiftyone as fo
if fo.dataset_exists(${JSON.stringify(DATASET)}):
    fo.delete_dataset(${JSON.stringify(DATASET)})
print("null")
`);
  await closeDatabases();
});

describe("compute_near_duplicates with backend=hnswlib", () => {
  it("finds fiftyone-brain's unique and duplicate sets and groups, and records the backend with the run", async () => {
    const ours = (await executeJob(request({ embeddings: "emb", threshold: 0.2, backend: "hnswlib", brain_key: "nd_hnsw" }))) as NearDuplicatesResult;
    const ref = await runPython<{ unique: string[]; dups: string[]; groups: Record<string, string[]>; backend: string }>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
index = fob.compute_near_duplicates(ds, embeddings="emb", threshold=0.2)
print(json.dumps({"unique": list(index.unique_ids), "dups": list(index.duplicate_ids),
                  "groups": {k: [d for d, _ in v] for k, v in index.neighbors_map.items()},
                  "backend": ds.get_brain_info("nd_hnsw").config.neighbor_search}))
`);
    expect(ours.duplicateIds.length).toBeGreaterThanOrEqual(40);
    expect(ours.uniqueIds).toEqual(ref.unique);
    expect(ours.duplicateIds).toEqual(ref.dups);
    expect(ours.duplicates).toEqual(ref.groups);
    expect(ref.backend).toBe("hnswlib");
  });

  it("refuses an unknown backend before anything is written", async () => {
    await expect(executeJob(request({ embeddings: "emb", threshold: 0.2, backend: "annoy", brain_key: "nd_bad" }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    const runs = await runPython<string[]>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).list_brain_runs()))
`);
    expect(runs).not.toContain("nd_bad");
  });
});
