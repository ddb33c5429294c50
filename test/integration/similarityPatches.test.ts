import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { ComputeSimilarityResult, SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = "brain_ts_similarity_patches";

const run = <T>(method: string, params: Record<string, unknown>) =>
  executeJob({ method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" } as JobRequest) as Promise<T>;

afterAll(closeDatabases);

it("a patch index over label embeddings: same neighbours and distances as fiftyone-brain's", async () => {
  const { labels, samples } = await runPython<{ labels: string[]; samples: string[] }>(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(9)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
samples = []
for i in range(20):
    dets = [fo.Detection(label="x", bounding_box=[0.1, 0.1, 0.2, 0.2], emb=rng.randn(8).astype(np.float32)) for _ in range(1 + i % 3)]
    samples.append(fo.Sample(filepath="/tmp/patch_%d.png" % i, gt=fo.Detections(detections=dets)))
ds.add_samples(samples)
ds.add_sample_field("gt.detections.emb", fo.VectorField)
fob.compute_similarity(ds, patches_field="gt", embeddings="emb", brain_key="ref_patches")
print(json.dumps({"labels": ds.values("gt.detections.id", unwind=True), "samples": ds.values("id")}))
`);
  const info = await run<ComputeSimilarityResult>("compute_similarity", { brain_key: "patches", embeddings: "emb", patches_field: "gt" });
  expect(info).toMatchObject({ size: labels.length, dim: 8, patches_field: "gt" });
  const query = labels[4];
  const ours = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "patches", query_ids: [query], k: 8 });
  // A selected sample stands for its labels (mean of their vectors, as several label ids).
  const bySample = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "patches", query_ids: [samples[2]], k: 8 });
  const ref = await runPython<{ samples: string[]; labels: string[]; dists: number[]; bySample: string[]; py: { field: string; patches: string } }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
idx = ds.load_brain_results("ref_patches", cache=False)
samples, labels, dists = idx._kneighbors(query=${JSON.stringify(query)}, k=8, aggregation="mean", return_dists=True)
label_ids = [d.id for d in ds[${JSON.stringify(samples[2])}].gt.detections]
# a fresh index: the reference's id query above centred the stored vectors in place
_, by_sample, _ = ds.load_brain_results("ref_patches", cache=False)._kneighbors(query=label_ids, k=8, aggregation="mean", return_dists=True)
info = ds.get_brain_info("patches")
print(json.dumps({"samples": list(samples), "labels": list(labels), "dists": [float(d) for d in dists], "bySample": list(by_sample),
  "py": {"field": info.config.embeddings_field, "patches": info.config.patches_field}}))
`);
  expect(ours.ids).toEqual(ref.labels);
  expect(ours.sample_ids).toEqual(ref.samples);
  ours.distances.forEach((d, i) => expect(d).toBeCloseTo(ref.dists[i], 5));
  expect(ours.ids[0]).toBe(query);
  expect(ref.py).toEqual({ field: "emb", patches: "gt" });
  expect(bySample.ids).toEqual(ref.bySample);
});

it("dist_field on a patch index stores each found label's distance as a FloatField label attribute", async () => {
  // Runs after the test above (same dataset and index).
  const ours = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "patches", query_vector: [1, 0, 0, 0, 0, 0, 0, 0], k: 5, dist_field: "qdist" });
  const again = await run<SortBySimilarityResult>("sort_by_similarity", { brain_key: "patches", query_vector: [0, 1, 0, 0, 0, 0, 0, 0], k: 5, dist_field: "qdist" });
  const read = () =>
    runPython<{ values: Record<string, number>; type: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ids = ds.values("gt.detections.id", unwind=True)
vals = ds.values("gt.detections.qdist", unwind=True)
print(json.dumps({"values": {i: v for i, v in zip(ids, vals) if v is not None}, "type": type(ds.get_field("gt.detections.qdist")).__name__}))
`);
  const after = await read();
  expect(after.type).toBe("FloatField");
  // The second query's labels hold its distances; labels only the first found keep theirs.
  again.ids.forEach((id, i) => expect(after.values[id]).toBeCloseTo(again.distances[i], 6));
  ours.ids.filter((id) => !again.ids.includes(id)).forEach((id) => expect(after.values[id]).toBeCloseTo(ours.distances[ours.ids.indexOf(id)], 6));
  expect(Object.keys(after.values).length).toBe(new Set([...ours.ids, ...again.ids]).size);
  // An attribute of another type is refused, and nothing changes.
  await expect(run("sort_by_similarity", { brain_key: "patches", query_vector: [0, 0, 1, 0, 0, 0, 0, 0], k: 5, dist_field: "emb" })).rejects.toThrow(/already have an attribute 'emb' of type VectorField/);
  expect(await read()).toEqual(after);
});
