import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { loadDataset, samplesCollection } from "../../src/fiftyone/datasets";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { NearDuplicatesResult } from "../../src/runtime/jobs/nearDuplicates";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

/**
 * compute_near_duplicates on an existing similarity index (exact and hnswlib backends)
 * and the duplicates view's type / nearest-id / distance fields, against fiftyone-brain's
 * compute_near_duplicates(similarity_index=...) and duplicates_view(...) on the same data.
 */
const DATASET = "brain_ts_near_dups_index";

type Target = JobRequest["target"];
const run = <T>(method: string, params: Record<string, unknown>, target?: Target) =>
  executeJob({ method, params, database: testDatabase(), dataset: DATASET, fiftyone_version: "1.22.1", ...(target ? { target } : {}) }) as Promise<T>;
const nearDups = (params: Record<string, unknown>, target?: Target) => run<NearDuplicatesResult>("compute_near_duplicates", params, target);

interface Reference {
  unique: string[];
  dups: string[];
  groups: Record<string, string[]>;
  intended?: Record<string, string[]>;
}

/** The reference's results on our exact runs (Python loads them as its own sklearn indexes), keyed by case. */
const CASES: Record<string, { key: string; threshold: number; view?: string }> = {
  cos_01: { key: "sim_cos", threshold: 0.1 },
  cos_005: { key: "sim_cos", threshold: 0.05 },
  euc_25: { key: "sim_euc", threshold: 2.5 },
  cos_01_view: { key: "sim_cos", threshold: 0.1, view: "ds.skip(30)" },
};

interface FieldValues {
  type: (string | null)[];
  nearest: (string | null)[];
  dist: (number | null)[];
}

/**
 * One Python process for every reference result (each start costs seconds): the cases
 * above; duplicates_view(type_field, id_field, dist_field) at cosine 0.1, with the
 * intended distances (its centred metric distances; the written ones are skewed, spec §6.3).
 */
function referenceResults(): Promise<{ cases: Record<string, Reference>; fields: Omit<FieldValues, "dist">; intended: (number | null)[] }> {
  const cases = Object.entries(CASES)
    .map(([name, c]) =>
      c.view
        ? `index = ds.load_brain_results(${JSON.stringify(c.key)}, cache=False)
index.use_view(${c.view})
index.find_duplicates(thresh=${c.threshold})
out["cases"][${JSON.stringify(name)}] = result(index)
out["cases"][${JSON.stringify(name)}]["intended"] = intended_groups(index)`
        : `out["cases"][${JSON.stringify(name)}] = result(fob.compute_near_duplicates(ds, threshold=${c.threshold}, similarity_index=${JSON.stringify(c.key)}))`,
    )
    .join("\n");
  return runPython(`
import json, fiftyone as fo, fiftyone.brain as fob
from sklearn.metrics import pairwise_distances
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ds.delete_sample_field("emb_gone")  # hnsw_gone's field
def result(index):
    return {"unique": list(index.unique_ids), "dups": list(index.duplicate_ids),
            "groups": {k: [d for d, _ in v] for k, v in index.neighbors_map.items()}}
def intended_groups(index):
    # Each duplicate's nearest kept sample by the centred metric distance (what the
    # reference intends; its own choice goes through skewed distances, spec 6.3).
    emb, ids, _ = ds.load_brain_results(index.key, cache=False).get_embeddings()
    D = pairwise_distances(emb - emb.mean(axis=0), metric=index.config.metric)
    row = {i: r for r, i in enumerate(ids)}
    groups = {}
    for d in index.duplicate_ids:
        u = min(index.unique_ids, key=lambda u: D[row[d], row[u]])
        groups.setdefault(u, []).append(d)
    return groups
out = {"cases": {}}
${cases}
index = fob.compute_near_duplicates(ds, threshold=0.1, similarity_index="sim_cos")
index.duplicates_view(type_field="ref_type", id_field="ref_nearest", dist_field="ref_dist")
emb, ids, _ = ds.load_brain_results("sim_cos", cache=False).get_embeddings()
D = pairwise_distances(emb - emb.mean(axis=0), metric="cosine")
row = {i: r for r, i in enumerate(ids)}
nearest = ds.values("ref_nearest")
out["intended"] = [None if n is None else float(D[row[i], row[n]]) if i != n else 0.0 for i, n in zip(ds.values("id"), nearest)]
out["fields"] = {"type": ds.values("ref_type"), "nearest": nearest}
for f in ["ref_type", "ref_nearest", "ref_dist"]:
    ds.delete_sample_field(f)
print(json.dumps(out))
`);
}

/** Brain run keys and sample fields of the dataset, and whether any sample holds a value of a field the bad calls name. */
async function state(): Promise<{ runs: string[]; fields: string[]; values: number }> {
  const db = await openDatabase(testDatabase());
  const dataset = await loadDataset(db, DATASET);
  const values = await samplesCollection(db, dataset).countDocuments({ $or: ["bad_type", "bad_dist", "same_f"].map((f) => ({ [f]: { $exists: true } })) });
  return { runs: Object.keys(dataset.brain_methods ?? {}).sort(), fields: dataset.sample_fields.map((f) => f.name).sort(), values };
}

/**
 * Groups with their members sorted: the reference orders a group's members by its skewed
 * distances (spec §6.3), ours by the metric distances, so only membership is compared.
 */
function members(groups: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, [...v].sort()]));
}

const lanceDir = mkdtempSync(join(tmpdir(), "brain-ts-ndi-lance-"));
let refs: Awaited<ReturnType<typeof referenceResults>>;
let firstIds: string[];

beforeAll(async () => {
  // 60 random 16-d embeddings in two clusters far from the origin (so centring and
  // normalising matter), 12 perturbed copies at several distances, two samples without
  // one; emb_gone is a copy of emb whose field is deleted once an index is built on it.
  firstIds = await runPython<string[]>(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(5)
base = rng.randn(60, 16)
base[:30] += 3
base += 5
copies = [base[i] + rng.randn(16) * s for i, s in zip(range(0, 60, 5), [0.01, 0.05, 0.1, 0.2, 0.3, 0.4] * 2)]
emb = list(base) + copies
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/ndi_%d.png" % i) for i in range(len(emb) + 2)])
ds.set_values("emb", emb + [None, None])
ds.set_values("emb_gone", emb + [None, None])
print(json.dumps(ds.values("id")[:50]))
`);
  await run("compute_similarity", { brain_key: "sim_cos", embeddings: "emb", backend: "exact", metric: "cosine" });
  await run("compute_similarity", { brain_key: "sim_euc", embeddings: "emb", backend: "exact", metric: "euclidean" });
  await run("compute_similarity", { brain_key: "hnsw_cos", embeddings: "emb", backend: "hnswlib", metric: "cosine" });
  await run("compute_similarity", { brain_key: "hnsw_euc", embeddings: "emb", backend: "hnswlib", metric: "euclidean" });
  await run("compute_similarity", { brain_key: "lance_cos", embeddings: "emb", backend: "lancedb", metric: "cosine", uri: lanceDir });
  // An hnswlib index of the first 50 samples only, and ones the near-duplicate search cannot use.
  await run("compute_similarity", { brain_key: "hnsw_part", embeddings: "emb", backend: "hnswlib", metric: "euclidean" }, { sample_ids: firstIds });
  await run("compute_similarity", { brain_key: "hnsw_dot", embeddings: "emb", backend: "hnswlib", metric: "dotproduct" });
  await run("compute_similarity", { brain_key: "hnsw_gone", embeddings: "emb_gone", backend: "hnswlib", metric: "cosine" });
  refs = await referenceResults();
});
afterAll(async () => {
  await run("delete_brain_run", { brain_key: "lance_cos" }).catch(() => undefined);
  rmSync(lanceDir, { recursive: true, force: true });
  await closeDatabases();
});

describe("near duplicates from an existing similarity index", () => {
  it.each(["cos_01", "cos_005", "euc_25"])("equal the reference's compute_near_duplicates(similarity_index=...) (%s)", async (name) => {
    const { key, threshold } = CASES[name];
    const [ours, ref] = [await nearDups({ similarity_index: key, threshold }), refs.cases[name]];
    expect(ours.duplicateIds.length).toBeGreaterThan(0);
    expect(ours.uniqueIds).toEqual(ref.unique);
    expect(ours.duplicateIds).toEqual(ref.dups);
    expect(members(ours.duplicates)).toEqual(members(ref.groups));
    expect(ours.metric).toBe(key === "sim_euc" ? "euclidean" : "cosine");
    // The two samples without embeddings are not in the index: skipped and named.
    expect(ours.numNotIndexed).toBe(2);
    expect(ours.notIndexedIds).toHaveLength(2);
  });

  it("equals the reference's index restricted to a view (centred by the whole index's mean)", async () => {
    const view = { pipeline: JSON.stringify([{ $skip: 30 }]), view_stages: [] };
    const [ours, ref] = [await nearDups({ similarity_index: "sim_cos", threshold: 0.1 }, view), refs.cases.cos_01_view];
    expect(ours.duplicateIds.length).toBeGreaterThan(0);
    expect(ours.uniqueIds).toEqual(ref.unique);
    expect(ours.duplicateIds).toEqual(ref.dups);
    // Here the reference's skewed distances (spec §6.3) pick other nearest kept samples
    // for some duplicates; ours are the nearest by its centred metric distance.
    expect(members(ours.duplicates)).toEqual(members(ref.intended!));
  });

  it.each([
    ["hnsw_cos", "cos_01"],
    ["hnsw_euc", "euc_25"],
    ["lance_cos", "cos_01"],
  ])("work from an hnswlib or LanceDB index (%s): the reference's sets on the same vectors", async (key, name) => {
    const [ours, ref] = [await nearDups({ similarity_index: key, threshold: CASES[name].threshold }), refs.cases[name]];
    expect(ours.duplicateIds.length).toBeGreaterThan(0);
    expect(ours.uniqueIds).toEqual(ref.unique);
    expect(ours.duplicateIds).toEqual(ref.dups);
    expect(members(ours.duplicates)).toEqual(members(ref.groups));
  });

  it("tells which samples of the view the index lacks", async () => {
    const ours = await nearDups({ similarity_index: "hnsw_part", threshold: 2.5 });
    expect(ours.numSamples).toBe(50);
    expect(ours.numNotIndexed).toBe(24);
    expect(ours.notIndexedIds).toHaveLength(10);
    for (const id of ours.notIndexedIds) expect(firstIds).not.toContain(id);
    for (const id of [...ours.uniqueIds, ...ours.duplicateIds]) expect(firstIds).toContain(id);
  });
});

describe("the duplicates view's type / nearest-id / distance fields", () => {
  it("equal what the reference's duplicates_view writes, with their schema; deleting the run removes them", async () => {
    const ours = await nearDups({ similarity_index: "sim_cos", threshold: 0.1, brain_key: "nd_fields", type_field: "dup_type", id_field: "dup_nearest", dist_field: "dup_dist" });
    expect(ours.fields).toEqual(["dup_type", "dup_nearest", "dup_dist"]);
    const read = await runPython<{ ours: FieldValues; schema: Record<string, string> }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
schema = ds.get_field_schema()
print(json.dumps({
  "ours": {"type": ds.values("dup_type"), "nearest": ds.values("dup_nearest"), "dist": ds.values("dup_dist")},
  "schema": {f: type(schema[f]).__name__ for f in ["dup_type", "dup_nearest", "dup_dist"]},
}))
`);
    const ref = { ours: read.ours, ref: refs.fields, intended: refs.intended, schema: read.schema };
    expect(ref.ref.type.filter((t) => t !== null).length).toBeGreaterThan(0);
    const deleted = await run<{ deletedFields: string[] }>("delete_brain_run", { brain_key: "nd_fields" });
    expect(deleted.deletedFields.sort()).toEqual(["dup_dist", "dup_nearest", "dup_type"]);
    const after = await state();
    expect(after.fields.filter((f) => f.startsWith("dup_"))).toEqual([]);
    const db = await openDatabase(testDatabase());
    const left = await samplesCollection(db, await loadDataset(db, DATASET)).countDocuments({ dup_type: { $exists: true } });
    expect(left).toBe(0);
    expect(after.runs).not.toContain("nd_fields");
  });
});

describe("bad input: a clear error, nothing written", () => {
  it.each([
    ["an index that does not exist", { similarity_index: "no_such_index" }, "BRAIN_KEY_NOT_FOUND", /no brain run with key 'no_such_index'/],
    ["a run that is not a similarity index", { similarity_index: "nd_other" }, "INVALID_PARAMS", /'nd_other' is a near_duplicates run, not a similarity index/],
    ["an index whose backend cannot return its embeddings", { similarity_index: "hnsw_gone" }, "INVALID_PARAMS", /cannot return its embeddings/],
    ["an index of another metric", { similarity_index: "hnsw_dot" }, "INVALID_PARAMS", /cosine or euclidean index/],
    ["a metric other than the index's", { similarity_index: "sim_cos", metric: "euclidean" }, "INVALID_PARAMS", /uses the cosine metric/],
    ["both a field and an index", { similarity_index: "sim_cos", embeddings: "emb" }, "INVALID_PARAMS", /either/],
    ["an existing field for type_field", { similarity_index: "sim_cos", type_field: "emb" }, "FIELD_EXISTS", /type_field: Field 'emb' already exists/],
    ["an invalid field name", { similarity_index: "sim_cos", dist_field: "bad name" }, "INVALID_PARAMS", /dist_field: Invalid field name/],
    ["one name for two fields", { similarity_index: "sim_cos", type_field: "same_f", id_field: "same_f" }, "INVALID_PARAMS", /both 'same_f'/],
    ["a threshold beyond the index's metric", { similarity_index: "sim_cos", threshold: 3 }, "INVALID_PARAMS", /\(0, 2\]/],
  ])("%s", async (_name, params, code, message) => {
    if (params.similarity_index === "nd_other") await nearDups({ embeddings: "emb", threshold: 0.2, brain_key: "nd_other" });
    const before = await state();
    const attempt = nearDups({ threshold: 0.2, brain_key: "nd_bad", type_field: "bad_type", dist_field: "bad_dist", ...params });
    await expect(attempt).rejects.toMatchObject({ code });
    await expect(attempt).rejects.toThrow(message);
    expect(await state()).toEqual(before);
  });
});
