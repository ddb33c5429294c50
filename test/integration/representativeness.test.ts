import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { ScoreResult } from "../../src/runtime/jobs/scores";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_representativeness";
const P3 = "brain_ts_representativeness_p3";

/**
 * Embeddings the reference clusters deterministically (well separated blobs, float64) and
 * ones where its k-means has to choose (isotropic noise), two samples without a value;
 * the same noise stored as float32 (clustered in float32 by both); the spec's P.3 grid
 * of 20 three-point clusters. The reference computes every
 * variant into ref_* fields.
 */
const MAKE = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(5)
N = 400
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/nonexistent/%d.png" % i) for i in range(N)])
centers = rng.randn(25, 16) * 4
blobs = [centers[rng.randint(25)] + rng.randn(16) * 0.5 for _ in range(N)]
blobs[3] = None
blobs[50] = None
noise = [rng.randn(24) for _ in range(N)]
ds.set_values("blobs", blobs)
ds.set_values("noise", noise)
ds.set_values("noise32", [v.astype(np.float32) for v in noise])
spots = rng.uniform(-40, 40, (30, 2))
small = [spots[rng.randint(30)] + rng.randn(2) * 0.3 for _ in range(N)]
ds.set_values("small", small)
bad = [rng.randn(8) for _ in range(N)]
bad[17][2] = np.nan
ds.set_values("emb_nan", bad)
ds.set_values("few", [rng.randn(4) if i < 19 else None for i in range(N)])
ds.add_sample_field("emb_empty", fo.VectorField)
fob.compute_representativeness(ds, embeddings="blobs", representativeness_field="ref_blobs")
fob.compute_representativeness(ds, embeddings="noise", representativeness_field="ref_noise")
fob.compute_representativeness(ds, embeddings="noise32", representativeness_field="ref_noise32")
fob.compute_representativeness(ds, embeddings="small", representativeness_field="ref_small_dw", method="cluster-center-downweight")

p3 = fo.Dataset(${JSON.stringify(P3)}, overwrite=True)
p3.persistent = True
pts = []
for i in range(5):
    for j in range(4):
        c = np.array([100.0 * i, 100.0 * j])
        pts += [c, c + [0.3, 0], c + [0, 0.6]]
p3.add_samples([fo.Sample(filepath="/nonexistent/p%d.png" % i) for i in range(len(pts))])
p3.set_values("emb", pts)
fob.compute_representativeness(p3, embeddings="emb", representativeness_field="ref_cc")
fob.compute_representativeness(p3, embeddings="emb", representativeness_field="ref_dw", method="cluster-center-downweight")
print(json.dumps({"ids": ds.values("id")}))
`;

const request = (dataset: string, params: Record<string, unknown>, target?: JobRequest["target"]): JobRequest => ({
  method: "compute_representativeness",
  params,
  database: testDatabase(),
  dataset,
  target,
  fiftyone_version: "1.22.1",
});
const run = (dataset: string, params: Record<string, unknown>) => executeJob(request(dataset, params)) as Promise<ScoreResult>;

async function values(dataset: string, fields: string[]): Promise<Record<string, (number | string | null)[]>> {
  return runPython(`
import json, math, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(dataset)})
fix = lambda v: "nan" if isinstance(v, float) and math.isnan(v) else v
print(json.dumps({f: [fix(v) for v in ds.values(f)] for f in ${JSON.stringify(fields)}}))
`);
}

function maxDiff(ours: (number | string | null)[], ref: (number | string | null)[]): number {
  expect(ours.length).toBe(ref.length);
  let m = 0;
  ours.forEach((v, i) => {
    const r = ref[i];
    if (r === null || typeof r === "string") expect(v).toBe(r);
    else m = Math.max(m, Math.abs((v as number) - r));
  });
  return m;
}

let ids: string[];
beforeAll(async () => {
  ({ ids } = await runPython<{ ids: string[] }>(MAKE));
}, 300_000);
afterAll(closeDatabases);

describe("representativeness against fiftyone-brain", () => {
  it("the spec's P.3 clusters: the reference's values, highest for each cluster's farthest point", async () => {
    await run(P3, { embeddings: "emb", representativeness_field: "cc" });
    await run(P3, { embeddings: "emb", representativeness_field: "dw", method: "cluster-center-downweight" });
    const v = await values(P3, ["cc", "ref_cc", "dw", "ref_dw"]);
    expect(maxDiff(v.cc, v.ref_cc)).toBeLessThan(1e-9);
    expect(maxDiff(v.dw, v.ref_dw)).toBeLessThan(1e-9);
    expect((v.cc as number[]).slice(0, 3).map((x) => +x.toFixed(12))).toEqual([0.542326144547, 0.685994340570, 1]);
    expect((v.dw as number[]).slice(0, 3).map((x) => +x.toFixed(12))).toEqual([0.379628301183, 0.685994340570, 1]);
  });

  it("equals the reference within 1e-6 on separated blobs, on noise and with down-weighting (same seeded k-means)", async () => {
    const r = await run(DATASET, { embeddings: "blobs" });
    expect(r).toMatchObject({ brainKey: "representativeness", numScored: 398, numMissing: 2, max: 1 });
    await run(DATASET, { embeddings: "noise", representativeness_field: "rep_noise" });
    await run(DATASET, { embeddings: "small", representativeness_field: "rep_small_dw", method: "cluster-center-downweight" });
    const v = await values(DATASET, ["representativeness", "ref_blobs", "rep_noise", "ref_noise", "rep_small_dw", "ref_small_dw"]);
    expect(maxDiff(v.representativeness, v.ref_blobs)).toBeLessThan(1e-6);
    expect(v.representativeness[3]).toBeNull();
    expect(maxDiff(v.rep_noise, v.ref_noise)).toBeLessThan(1e-6);
    expect(maxDiff(v.rep_small_dw, v.ref_small_dw)).toBeLessThan(1e-6);
  });

  it("float32 embeddings are clustered in float32 as the reference does: equal within 1e-5, also at a size where float64 arithmetic picks other seeds", async () => {
    await run(DATASET, { embeddings: "noise32", representativeness_field: "rep_noise32" });
    const v = await values(DATASET, ["rep_noise32", "ref_noise32"]);
    expect(maxDiff(v.rep_noise32, v.ref_noise32)).toBeLessThan(1e-5);
    // 20000 × 128 float32 blobs: clustered in float64 this seeds k-means differently (labels 43% equal)
    const big = "brain_ts_representativeness_f32";
    await runPython(`
import numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(1)
centers = rng.randn(64, 128).astype(np.float32) * 2
emb = (centers[rng.randint(64, size=20000)] + rng.randn(20000, 128).astype(np.float32)).astype(np.float32)
ds = fo.Dataset(${JSON.stringify("brain_ts_representativeness_f32")}, overwrite=True)
ds.add_samples([fo.Sample(filepath="/nonexistent/%d.png" % i) for i in range(len(emb))], progress=False)
ds.set_values("emb", list(emb), progress=False)
fob.compute_representativeness(ds, embeddings="emb", representativeness_field="ref", progress=False)
ds.persistent = True
print("{}")
`);
    await run(big, { embeddings: "emb", representativeness_field: "ours" });
    const w = await values(big, ["ours", "ref"]);
    const diff = maxDiff(w.ours, w.ref);
    console.log(`representativeness, 20000 × 128 float32: max |Δ| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-5);
    await runPython(`import fiftyone as fo; fo.delete_dataset(${JSON.stringify(big)}); print("{}")`);
  });

  it("registers the reference's RepresentativenessConfig; deleting the run removes the field", async () => {
    const py = await runPython<{ ours: Record<string, unknown>; ref: Record<string, unknown>; cls: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
db = fo.core.odm.get_db_conn()
cfg = lambda k: db.runs.find_one({"_id": ds._doc.brain_methods[k].id})["config"]
print(json.dumps({"ours": cfg("rep_small_dw"), "ref": cfg("ref_small_dw"), "cls": type(ds.get_brain_info("rep_small_dw").config).__name__}))
`);
    expect(py.cls).toBe("RepresentativenessConfig");
    expect(Object.keys(py.ours)).toEqual(Object.keys(py.ref));
    expect(py.ours).toEqual({ ...py.ref, representativeness_field: "rep_small_dw", embeddings_field: "small" });
    const del = (await executeJob({ ...request(DATASET, {}), method: "delete_brain_run", params: { brain_key: "rep_noise" } })) as { deletedFields: string[] };
    expect(del.deletedFields).toEqual(["rep_noise"]);
    const after = await runPython<{ field: boolean; raw: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"field": ds.has_field("rep_noise"), "raw": len(ds.exists("rep_noise"))}))
`);
    expect(after).toEqual({ field: false, raw: 0 });
  });

  it("bad input: clear errors naming the field and sample, nothing written", async () => {
    await expect(run(DATASET, { embeddings: "emb_nan", representativeness_field: "r_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringMatching(new RegExp(`'emb_nan'.*'${ids[17]}'.*NaN`)),
    });
    await expect(run(DATASET, { embeddings: "few", representativeness_field: "r_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringContaining("at least 20 samples with a value in 'few', the view has 19"),
    });
    await expect(run(DATASET, { embeddings: "emb_empty", representativeness_field: "r_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringContaining("'emb_empty' has no value"),
    });
    await expect(run(DATASET, { embeddings: "noise", representativeness_field: "r_bad", method: "meanshift" })).rejects.toMatchObject({
      code: "INVALID_PARAMS",
      message: "Method 'meanshift' not supported. Please use one of ['cluster-center', 'cluster-center-downweight']",
    });
    const py = await runPython<{ runs: string[]; field: boolean }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "field": ds.has_field("r_bad")}))
`);
    expect(py.runs).not.toContain("r_bad");
    expect(py.field).toBe(false);
  });
});
