import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { LeakySplitsResult } from "../../src/runtime/jobs/leakySplits";
import { LeakRunView } from "../../src/runtime/jobs/leakRuns";
import { FindUniqueResult } from "../../src/runtime/jobs/findUnique";
import { leakIds, leaksAt } from "../../panels/leaks/model";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(300_000);

const DATASET = "brain_ts_leak_runs";

function request(method: string, params: Record<string, unknown>): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}
const leaky = (params: Record<string, unknown>) => executeJob(request("compute_leaky_splits", { embeddings: "emb", ...params })) as Promise<LeakySplitsResult>;

/** The reference's leaks at each threshold, from one index (find_leaks re-thresholds it). */
const referenceLeaks = (thresholds: number[]) =>
  runPython<string[][]>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
index = fob.compute_leaky_splits(ds, splits=["train", "test"], embeddings="emb", threshold=None)
out = []
for t in ${JSON.stringify(thresholds)}:
    index.find_leaks(t)
    out.append(list(index.leak_ids))
print(json.dumps(out))
`);

const runKeys = () => runPython<string[]>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).list_brain_runs()))
`);

let viewPipelines: Record<string, string>;

beforeAll(async () => {
  // 40 train + 20 test; 6 test samples are noisy copies of train ones at growing noise,
  // so different thresholds find different leaks. Saved views mirror the tags.
  viewPipelines = await runPython<Record<string, string>>(`
import json, numpy as np, fiftyone as fo
from bson import json_util
rng = np.random.RandomState(11)
train = list(rng.randn(40, 24))
test = list(rng.randn(14, 24)) + [train[i] + rng.randn(24) * s for i, s in zip(range(0, 30, 5), [0.01, 0.02, 0.05, 0.1, 0.2, 0.3])]
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
samples = [fo.Sample(filepath="/tmp/lr_%d.png" % i, tags=["train"], split="train", fold=0, score=0.5) for i in range(len(train))]
samples += [fo.Sample(filepath="/tmp/lr_t%d.png" % i, tags=["test"], split="test", fold=1, score=0.5) for i in range(len(test))]
ds.add_samples(samples)
ds.set_values("emb", train + test)
ds.save_view("train_view", ds.match_tags("train"))
ds.save_view("test_view", ds.match_tags("test"))
print(json.dumps({n: json_util.dumps(ds.load_saved_view(n)._pipeline()) for n in ["train_view", "test_view"]}))
`);
});
afterAll(closeDatabases);

describe("leaky-splits runs for the Leaks panel", () => {
  it("stores a run whose graph regroups at other thresholds exactly as a fresh run (and the reference) finds", async () => {
    const ours = await leaky({ split_tags: ["train", "test"], threshold: 0.05, brain_key: "leaks" });
    const thresholds = [0.05, 0.02, 0.08];
    const ref = await referenceLeaks(thresholds);
    expect(ours.leakIds).toEqual(ref[0]);
    expect(ours.leakIds.length).toBeGreaterThan(0);
    expect(await runKeys()).toContain("leaks");

    const run = (await executeJob(request("get_leak_run", { brain_key: "leaks" }))) as LeakRunView;
    expect(run.splits).toEqual(["train", "test"]);
    expect(run.graph.radius).toBeCloseTo(0.1, 12);
    // The slider's thresholds: regrouped from the stored graph vs recomputed by the reference.
    thresholds.forEach((t, i) => expect(new Set(leakIds(leaksAt(run, t)))).toEqual(new Set(ref[i])));
    expect(new Set(ref[1]).size).toBeLessThan(new Set(ref[2]).size); // the thresholds do differ
    // Pairs cross splits and carry metric distances within the threshold.
    for (const g of leaksAt(run, 0.1)) {
      for (const l of g.leaks) {
        expect(l.split).not.toBe(g.kept.split);
        expect(l.distance).toBeLessThanOrEqual(0.1);
      }
    }
  });

  it("takes splits from saved views (compiled by the bridge) with the same leaks as tags", async () => {
    const byTags = await leaky({ split_tags: ["train", "test"], threshold: 0.1 });
    const byViews = await leaky({ split_views: ["train_view", "test_view"], split_view_pipelines: viewPipelines, threshold: 0.1, brain_key: "leaks_views" });
    expect(byViews.leakIds).toEqual(byTags.leakIds);
    expect(byViews.splitBy).toBe("views");
    const run = (await executeJob(request("get_leak_run", { brain_key: "leaks_views" }))) as LeakRunView;
    // The split's stages are the saved view's own, for the no-leaks view.
    expect(run.split_stages[0]).toEqual([{ _cls: "fiftyone.core.stages.MatchTags", kwargs: [["tags", ["train"]], ["bool", true], ["all", false]] }]);
  });

  it("refuses bad splits with a clear message and leaves no run behind", async () => {
    const before = await runKeys();
    await expect(leaky({ split_field: "score", brain_key: "bad1" })).rejects.toThrow(/'score' is a FloatField; splits need a string, integer or boolean/);
    await expect(leaky({ split_field: "nope", brain_key: "bad2" })).rejects.toThrow(/no field 'nope'/);
    await expect(leaky({ split_views: ["train_view", "missing"], split_view_pipelines: viewPipelines, brain_key: "bad3" })).rejects.toThrow(/no saved view 'missing'/);
    await expect(leaky({ split_views: ["train_view", "test_view"], brain_key: "bad4" })).rejects.toThrow(/needs its compiled pipeline/);
    await expect(leaky({ split_tags: ["train", "train"], brain_key: "bad5" })).rejects.toThrow(/'train' more than once/);
    await expect(leaky({ split_tags: ["train", "nope"], brain_key: "bad6" })).rejects.toThrow(/'nope' have no samples/);
    await expect(leaky({ split_tags: ["train", "test"], threshold: 0, brain_key: "bad7" })).rejects.toThrow(/threshold must be a distance/);
    await expect(leaky({ split_tags: ["train", "test"], threshold: 5, brain_key: "bad8" })).rejects.toThrow(/\(0, 2\]/);
    await expect(leaky({ split_tags: ["train", "test"], brain_key: "leaks" })).rejects.toThrow(/already exists/);
    expect(await runKeys()).toEqual(before);
  });

  it("splits by an integer field, and warns about overlapping splits", async () => {
    const byField = await leaky({ split_field: "fold", threshold: 0.1 });
    expect(byField.splits).toEqual(["0", "1"]);
    expect(byField.leakIds).toEqual((await leaky({ split_tags: ["train", "test"], threshold: 0.1 })).leakIds);
    const overlapping = await leaky({ split_views: ["train_view", "test_view"], split_view_pipelines: { ...viewPipelines, test_view: viewPipelines.train_view }, threshold: 0.1 });
    expect(overlapping.warnings).toEqual(["The 'train_view' and 'test_view' splits share 40 samples; they count as 'test_view'"]);
  });
});

describe("find_unique against fiftyone-brain", () => {
  it("keeps the reference's unique samples at its threshold, for several counts", async () => {
    const counts = [10, 45, 59];
    const refs = await runPython<{ unique: string[]; thresh: number }[]>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
index = fob.compute_near_duplicates(ds, embeddings="emb")
out = []
for count in ${JSON.stringify(counts)}:
    index.find_unique(count)
    out.append({"unique": list(index.unique_ids), "thresh": index.thresh})
print(json.dumps(out))
`);
    for (const [i, count] of counts.entries()) {
      const ours = (await executeJob(request("find_unique", { embeddings: "emb", count }))) as FindUniqueResult;
      expect(ours.uniqueIds).toEqual(refs[i].unique);
      expect(ours.threshold).toBeCloseTo(refs[i].thresh, 12);
      expect(ours.uniqueIds.length + ours.duplicateIds.length).toBe(60);
    }
  });

  it("asks for a count or a fraction", async () => {
    const r = (await executeJob(request("find_unique", { embeddings: "emb", fraction: 0.25 }))) as FindUniqueResult;
    expect(r.requested).toBe(45);
    await expect(executeJob(request("find_unique", { embeddings: "emb" }))).rejects.toThrow(/either 'count'/);
    await expect(executeJob(request("find_unique", { embeddings: "emb", count: 0 }))).rejects.toThrow(/whole number of samples ≥ 1/);
    await expect(executeJob(request("find_unique", { embeddings: "emb", fraction: 1 }))).rejects.toThrow(/\[0, 1\)/);
  });
});
