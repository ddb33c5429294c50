import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { NearDuplicatesResult } from "../../src/runtime/jobs/nearDuplicates";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = "brain_ts_near_dups";

function request(params: Record<string, unknown>): JobRequest {
  return { method: "compute_near_duplicates", params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1" };
}

beforeAll(async () => {
  // 60 random 16-d embeddings, with 12 perturbed copies at several distances and two missing values.
  await runPython(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(3)
base = rng.randn(60, 16)
copies = [base[i] + rng.randn(16) * s for i, s in zip(range(0, 60, 5), [0.01, 0.05, 0.1, 0.2, 0.3, 0.4] * 2)]
emb = list(base) + copies
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/nd_%d.png" % i) for i in range(len(emb) + 2)])
ds.set_values("emb", emb + [None, None])
print(json.dumps(len(ds)))
`);
});
afterAll(closeDatabases);

describe("compute_near_duplicates against fiftyone-brain", () => {
  it.each([
    ["cosine", 0.05],
    ["cosine", 0.2],
    ["euclidean", 2.5],
  ])("finds the reference's unique and duplicate sets and groups (%s, threshold %p)", async (metric, threshold) => {
    const ours = (await executeJob(request({ embeddings: "emb", threshold, metric }))) as NearDuplicatesResult;
    const ref = await runPython<{ unique: string[]; dups: string[]; groups: Record<string, string[]> }>(
      `
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)}).exists("emb")
index = fob.compute_near_duplicates(ds, embeddings="emb", threshold=${threshold})
print(json.dumps({"unique": list(index.unique_ids), "dups": list(index.duplicate_ids),
                  "groups": {k: [d for d, _ in v] for k, v in index.neighbors_map.items()}}))
`,
      { FIFTYONE_BRAIN_SIMILARITY_SKLEARN_METRIC: metric },
    );
    expect(ours.numMissing).toBe(2);
    expect(ours.uniqueIds).toEqual(ref.unique);
    expect(ours.duplicateIds).toEqual(ref.dups);
    expect(ours.duplicateIds.length).toBeGreaterThan(0);
    // Group keys and members match; the reference's reported distances are a known bug (spec §6.3), ours are metric distances.
    expect(ours.duplicates).toEqual(ref.groups);
  });

  it("rejects thresholds that are not distances of the metric", async () => {
    await expect(executeJob(request({ embeddings: "emb", threshold: 0 }))).rejects.toMatchObject({ code: "INVALID_PARAMS" });
    await expect(executeJob(request({ embeddings: "emb", threshold: 5, metric: "cosine" }))).rejects.toThrow(/\(0, 2\]/);
    await expect(executeJob(request({ embeddings: "nope", threshold: 0.2 }))).rejects.toMatchObject({ code: "FIELD_NOT_FOUND" });
  });
});

describe("the duplicates view's fields from a run's stored graph (the Duplicates panel's slider)", () => {
  it("writes at another threshold the fields a run at that threshold writes, owned by the run; bad input writes nothing", async () => {
    await executeJob(request({ embeddings: "emb", threshold: 0.3, brain_key: "nd_slider" }));
    const write = (params: Record<string, unknown>) => executeJob({ ...request(params), method: "write_duplicate_fields" });
    const written = (await write({ brain_key: "nd_slider", threshold: 0.1, type_field: "s_type", id_field: "s_id", dist_field: "s_dist" })) as { fields: string[]; numDuplicates: number };
    expect(written.fields).toEqual(["s_type", "s_id", "s_dist"]);
    // the same fields from a run computed at 0.1
    const direct = (await executeJob(request({ embeddings: "emb", threshold: 0.1, type_field: "d_type", id_field: "d_id", dist_field: "d_dist" }))) as NearDuplicatesResult;
    expect(written.numDuplicates).toBe(direct.duplicateIds.length);
    const values = await runPython<Record<string, unknown[]>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({f: ds.values(f) for f in ["s_type", "s_id", "s_dist", "d_type", "d_id", "d_dist"]}))
`);
    expect(values.s_type).toEqual(values.d_type);
    expect(values.s_id).toEqual(values.d_id);
    (values.s_dist as (number | null)[]).forEach((d, i) => (d === null ? expect(values.d_dist[i]).toBeNull() : expect(d).toBeCloseTo(values.d_dist[i] as number, 12)));

    // a run owns one set; a threshold beyond the stored distances, or no name, is refused
    await expect(write({ brain_key: "nd_slider", threshold: 0.1, type_field: "s_type2" })).rejects.toThrow(/already wrote the fields 's_type'/);
    await executeJob(request({ embeddings: "emb", threshold: 0.1, brain_key: "nd_slider2" }));
    await expect(write({ brain_key: "nd_slider2", threshold: 5, type_field: "t2" })).rejects.toThrow(/threshold must be in/);
    await expect(write({ brain_key: "nd_slider2", threshold: 0.05 })).rejects.toThrow(/at least one field name/);
    await expect(write({ brain_key: "nd_slider2", threshold: 0.05, type_field: "emb" })).rejects.toMatchObject({ code: "FIELD_EXISTS" });

    await executeJob({ ...request({ brain_key: "nd_slider" }), method: "delete_brain_run" });
    const after = await runPython<string[]>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps([f for f in ["s_type", "s_id", "s_dist", "t2"] if ds.has_field(f)]))
`);
    expect(after).toEqual([]);
  });
});
