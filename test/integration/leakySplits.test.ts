import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { LeakySplitsResult } from "../../src/runtime/jobs/leakySplits";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = "brain_ts_leaks";

function request(params: Record<string, unknown>): JobRequest {
  return { method: "compute_leaky_splits", params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}

beforeAll(async () => {
  // 40 train + 20 test random embeddings; 6 test samples are noisy copies of train ones,
  // 2 train samples are copies of other train samples (not leaks).
  await runPython(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(7)
train = list(rng.randn(40, 24))
test = list(rng.randn(14, 24)) + [train[i] + rng.randn(24) * 0.02 for i in range(0, 30, 5)]
train += [train[1] + rng.randn(24) * 0.01, train[2] + rng.randn(24) * 0.01]
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
samples = [fo.Sample(filepath="/tmp/leak_%d.png" % i, tags=["train"], split="train") for i in range(len(train))]
samples += [fo.Sample(filepath="/tmp/leak_t%d.png" % i, tags=["test"], split="test") for i in range(len(test))]
ds.add_samples(samples)
ds.set_values("emb", train + test)
print(json.dumps(len(ds)))
`);
});
afterAll(closeDatabases);

describe("compute_leaky_splits against fiftyone-brain", () => {
  it.each([
    ["tags", { split_tags: ["train", "test"] }, '["train", "test"]'],
    ["a field", { split_field: "split" }, '"split"'],
  ])("finds the reference's leaks with splits given by %s", async (_, splits, pySplits) => {
    const ours = (await executeJob(request({ embeddings: "emb", threshold: 0.1, ...splits }))) as LeakySplitsResult;
    const ref = await runPython<string[]>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
index = fob.compute_leaky_splits(ds, splits=${pySplits}, embeddings="emb", threshold=0.1)
print(json.dumps(list(index.leak_ids)))
`);
    expect(ours.leakIds).toEqual(ref);
    expect(ours.leakIds).toHaveLength(12); // 6 train originals + their 6 test copies
    expect(new Set(ours.splits)).toEqual(new Set(["train", "test"]));
  });

  it("says what is wrong with the splits", async () => {
    await expect(executeJob(request({ embeddings: "emb", split_tags: ["train"] }))).rejects.toThrow(/at least two tags/);
    await expect(executeJob(request({ embeddings: "emb", split_tags: ["train", "nope"] }))).rejects.toThrow(/'nope' have no samples/);
    await expect(executeJob(request({ embeddings: "emb" }))).rejects.toThrow(/either as 'split_tags'/);
  });
});
