import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { ScoreResult } from "../../src/runtime/jobs/scores";
import { sortByStage } from "../../operators/views";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_scores";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-scores-"));
const N = 60;

/**
 * Small PNGs; random float64 embeddings stored with set_values (VectorField), two samples
 * without one and an exact duplicate pair; the same as float32 arrays and as plain lists;
 * Classification ground truth and predictions with confidences and logits (some missing,
 * one prediction without ground truth); Classifications with logits; and broken fields.
 * Then the reference computes every score into ref_* fields.
 */
const MAKE_DATASET = `
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
from PIL import Image
d = ${JSON.stringify(mediaDir)}
N = ${N}
rng = np.random.RandomState(51)
paths = []
for i in range(N):
    p = "%s/img%d.png" % (d, i)
    Image.new("RGB", (8, 8), (i * 4 % 256, 255 - i * 4 % 256, i * 9 % 256)).save(p)
    paths.append(p)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p, tags=["even" if i % 2 == 0 else "odd"]) for i, p in enumerate(paths)])
emb = [rng.randn(16) for _ in range(N)]
emb[7] = emb[3].copy()
emb[10] = None
emb[25] = None
ds.set_values("emb", emb)
ds.set_values("emb32", [None if e is None else e.astype(np.float32) for e in emb])
ds.set_values("emb_list", [None if e is None else [float(x) for x in e] for e in emb])
classes = ["cat", "dog", "bird"]
gt, pred, gtm, predm = [], [], [], []
for i in range(N):
    g = classes[rng.randint(3)]
    logits = rng.randn(3) * 2
    p = classes[int(np.argmax(logits))]
    gt.append(None if i in (5, 6) else fo.Classification(label=g))
    pred.append(None if i in (6, 9) else fo.Classification(label=p, confidence=float(rng.uniform(0.3, 1.0)), logits=logits))
    gtm.append(fo.Classifications(classifications=[fo.Classification(label=c) for c in classes if rng.rand() < 0.5]))
    predm.append(fo.Classifications(classifications=[fo.Classification(label=c) for c in classes if rng.rand() < 0.5], logits=rng.randn(3)))
ds.set_values("gt", gt)
ds.set_values("pred", pred)
ds.set_values("gt_multi", gtm)
ds.set_values("pred_multi", predm)
ds.set_values("pred_nologits", [fo.Classification(label="cat", confidence=0.5) for _ in range(N)])
ds.set_values("dets", [fo.Detections(detections=[fo.Detection(label="cat", bounding_box=[0.1, 0.1, 0.2, 0.2], confidence=0.9)]) for _ in range(N)])
bad = [rng.randn(16) for _ in range(N)]
bad[12][4] = np.nan
ds.set_values("emb_nan", bad)
mixed = [rng.randn(16) for _ in range(N)]
mixed[20] = rng.randn(8)
ds.set_values("emb_mixed", mixed)
ds.add_sample_field("emb_empty", fo.VectorField)
fob.compute_uniqueness(ds, embeddings="emb", uniqueness_field="ref_uniqueness")
fob.compute_uniqueness(ds, embeddings="emb32", uniqueness_field="ref_uniqueness32")
fob.compute_hardness(ds, "pred", hardness_field="ref_hardness")
fob.compute_mistakenness(ds, "pred", label_field="gt", mistakenness_field="ref_mistakenness")
fob.compute_mistakenness(ds, "pred", label_field="gt", mistakenness_field="ref_mistakenness_logits", use_logits=True)
fob.compute_mistakenness(ds, "pred_multi", label_field="gt_multi", mistakenness_field="ref_mistakenness_multi", use_logits=True)
fob.compute_uniqueness(ds.match_tags("odd"), embeddings="emb", uniqueness_field="ref_uniqueness_odd")
print(json.dumps({"ids": ds.values("id")}))
`;

function request(method: string, params: Record<string, unknown> = {}, target?: JobRequest["target"]): JobRequest {
  return { method, params, database: testDatabase(), dataset: DATASET, target, fiftyone_version: "1.22.1" };
}

const run = (method: string, params: Record<string, unknown>, target?: JobRequest["target"]) =>
  executeJob(request(method, params, target)) as Promise<ScoreResult>;

/** Values of fields, in dataset order, as Python reads them (None → null, NaN → "nan"). */
async function values(fields: string[]): Promise<Record<string, (number | string | null)[]>> {
  return runPython(`
import json, math, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
fix = lambda v: "nan" if isinstance(v, float) and math.isnan(v) else v
print(json.dumps({f: [fix(v) for v in ds.values(f)] for f in ${JSON.stringify(fields)}}))
`);
}

function expectParity(ours: (number | string | null)[], ref: (number | string | null)[], tol = 1e-6) {
  expect(ours.length).toBe(ref.length);
  ours.forEach((v, i) => {
    const r = ref[i];
    if (r === null || typeof r === "string") {
      expect(v).toBe(r);
    } else {
      expect(typeof v).toBe("number");
      if (Math.abs((v as number) - r) > tol) throw new Error(`sample ${i}: ours ${v}, reference ${r}`);
    }
  });
}

let ids: string[];
beforeAll(async () => {
  ({ ids } = await runPython<{ ids: string[] }>(MAKE_DATASET));
});
afterAll(closeDatabases);

describe("scores against fiftyone-brain on identical inputs", () => {
  it("uniqueness from a VectorField equals fob.compute_uniqueness within 1e-6, float64, float32 and plain lists", async () => {
    const r = await run("compute_uniqueness", { embeddings: "emb" });
    expect(r).toMatchObject({ brainKey: "uniqueness", field: "uniqueness", numScored: N - 2, numMissing: 2, numSamples: N, max: 1, replaced: false });
    await run("compute_uniqueness", { embeddings: "emb32", uniqueness_field: "uniqueness32" });
    await run("compute_uniqueness", { embeddings: "emb_list", uniqueness_field: "uniqueness_list" });
    const v = await values(["uniqueness", "ref_uniqueness", "uniqueness32", "ref_uniqueness32", "uniqueness_list"]);
    expectParity(v.uniqueness, v.ref_uniqueness);
    expectParity(v.uniqueness32, v.ref_uniqueness32);
    expectParity(v.uniqueness_list, v.ref_uniqueness);
    expect(v.uniqueness[10]).toBeNull(); // no embedding → no value, as the reference
    // samples 3 and 7 have identical embeddings: the reference drops each one's nearest neighbour, so both stay unique
    expect(Math.abs((v.uniqueness[3] as number) - (v.uniqueness[7] as number))).toBeLessThan(1e-12);
  });

  it("uniqueness on a view (FiftyOne's pipeline) equals the reference run on the same view", async () => {
    const { pipeline, stages } = await runPython<{ pipeline: string; stages: string[] }>(`
import json, fiftyone as fo
from bson import json_util
view = fo.load_dataset(${JSON.stringify(DATASET)}).match_tags("odd")
print(json.dumps({"pipeline": json_util.dumps(view._pipeline()), "stages": [json_util.dumps(s) for s in view._serialize(include_uuids=False)]}))
`);
    const r = await run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "uniqueness_odd" }, { pipeline, view_stages: stages });
    expect(r.numSamples).toBe(N / 2);
    const v = await values(["uniqueness_odd", "ref_uniqueness_odd"]);
    expectParity(v.uniqueness_odd, v.ref_uniqueness_odd);
    expect(v.uniqueness_odd[0]).toBeNull();
  });

  it("tiny views reproduce the reference: NaN for 4 samples, 1 for 3 or fewer", async () => {
    const ref = await runPython<Record<string, unknown>>(`
import json, math, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ids = ds.values("id")
fob.compute_uniqueness(ds.select(ids[:4]), embeddings="emb", uniqueness_field="ref_u4")
fob.compute_uniqueness(ds.select(ids[:3]), embeddings="emb", uniqueness_field="ref_u3")
fix = lambda v: "nan" if isinstance(v, float) and math.isnan(v) else v
print(json.dumps({f: [fix(v) for v in ds.values(f)[:5]] for f in ("ref_u4", "ref_u3")}))
`);
    await run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "u4" }, { sample_ids: ids.slice(0, 4) });
    await run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "u3" }, { sample_ids: ids.slice(0, 3) });
    const v = await values(["u4", "u3"]);
    expect(ref.ref_u4).toEqual(["nan", "nan", "nan", "nan", null]);
    expect(v.u4.slice(0, 5)).toEqual(ref.ref_u4);
    expect(ref.ref_u3).toEqual([1, 1, 1, null, null]);
    expect(v.u3.slice(0, 5)).toEqual([1, 1, 1, null, null]);
  });

  it("the operators' SortBy stage, as set_view gets it, orders the dataset by the score, highest first", async () => {
    const py = await runPython<{ sorted: (number | null)[] }>(`
import json, fiftyone as fo
import fiftyone.core.view as fov
ds = fo.load_dataset(${JSON.stringify(DATASET)})
view = fov.DatasetView._build(ds, [json.loads(${JSON.stringify(JSON.stringify(sortByStage("uniqueness", true)))})])
print(json.dumps({"sorted": view.values("uniqueness")}))
`);
    const scored = py.sorted.filter((v): v is number => v !== null);
    expect(scored).toEqual([...scored].sort((a, b) => b - a));
    expect(scored[0]).toBe(1);
    expect(py.sorted.slice(-2)).toEqual([null, null]); // samples without a score last
  });

  it("hardness equals fob.compute_hardness within 1e-6", async () => {
    const r = await run("compute_hardness", { label_field: "pred" });
    expect(r).toMatchObject({ brainKey: "hardness", numMissing: 2 });
    const v = await values(["hardness", "ref_hardness"]);
    expectParity(v.hardness, v.ref_hardness);
    expect(v.hardness[6]).toBeNull();
  });

  it("classification mistakenness equals fob.compute_mistakenness with confidences, with logits, and multi-label", async () => {
    await run("compute_mistakenness", { pred_field: "pred", label_field: "gt" });
    await run("compute_mistakenness", { pred_field: "pred", label_field: "gt", use_logits: true, mistakenness_field: "mistakenness_logits" });
    await run("compute_mistakenness", { pred_field: "pred_multi", label_field: "gt_multi", use_logits: true, mistakenness_field: "mistakenness_multi" });
    const v = await values([
      "mistakenness", "ref_mistakenness", "mistakenness_logits", "ref_mistakenness_logits", "mistakenness_multi", "ref_mistakenness_multi",
    ]);
    expectParity(v.mistakenness, v.ref_mistakenness);
    expectParity(v.mistakenness_logits, v.ref_mistakenness_logits);
    expectParity(v.mistakenness_multi, v.ref_mistakenness_multi);
    expect(v.mistakenness[6]).toBeNull(); // neither label
    expect(v.mistakenness[9]).toBe(1); // no prediction
  });

  it("registers runs exactly as the reference does, so Python's own cleanup removes the fields", async () => {
    const py = await runPython<Record<string, unknown>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
db = fo.core.odm.get_db_conn()
def cfg(key):
    doc = db.runs.find_one({"_id": ds._doc.brain_methods[key].id if hasattr(ds._doc.brain_methods[key], "id") else ds._doc.brain_methods[key]})
    return doc["config"]
pairs = [("uniqueness", "ref_uniqueness"), ("hardness", "ref_hardness"), ("mistakenness", "ref_mistakenness"), ("mistakenness_logits", "ref_mistakenness_logits")]
out = {"configs": [[cfg(a), cfg(b)] for a, b in pairs]}
out["info_cls"] = type(ds.get_brain_info("uniqueness").config).__name__
out["by_type"] = ds.list_brain_runs(type="mistakenness")
out["results"] = ds.load_brain_results("hardness") is None
out["field_types"] = [type(ds.get_field(f)).__name__ for f in ("uniqueness", "hardness", "mistakenness")]
for key in ("uniqueness", "hardness", "mistakenness"):
    ds.delete_brain_run(key)
out["fields_after"] = [ds.has_field(f) for f in ("uniqueness", "hardness", "mistakenness")]
out["raw_after"] = len(ds.exists("uniqueness"))
out["runs_after"] = ds.list_brain_runs()
print(json.dumps(out, default=str))
`);
    for (const [ours, ref] of py.configs as Record<string, unknown>[][]) {
      const rename = (c: Record<string, unknown>, from: Record<string, unknown>) => ({ ...c, ...from });
      const refFields = Object.fromEntries(Object.entries(ref).filter(([k]) => k.endsWith("_field") && k !== "label_field" && k !== "pred_field" && k !== "embeddings_field"));
      const ourFields = Object.fromEntries(Object.keys(refFields).map((k) => [k, ours[k]]));
      expect(Object.keys(ours)).toEqual(Object.keys(ref));
      expect(ours).toEqual(rename(ref, ourFields));
    }
    expect(py.info_cls).toBe("UniquenessConfig");
    expect(py.by_type).toEqual(expect.arrayContaining(["hardness", "mistakenness", "ref_hardness"]));
    expect(py.results).toBe(true);
    expect(py.field_types).toEqual(["FloatField", "FloatField", "FloatField"]);
    expect(py.fields_after).toEqual([false, false, false]);
    expect(py.raw_after).toBe(0);
    expect(py.runs_after).not.toEqual(expect.arrayContaining(["uniqueness"]));
  });

  it("computes into the same field twice, as the reference allows, replacing the run", async () => {
    await run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "twice" });
    const second = await run("compute_uniqueness", { embeddings: "emb32", uniqueness_field: "twice" });
    expect(second.replaced).toBe(true);
    // over a run the reference made, too
    const onRef = await run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "ref_uniqueness" });
    expect(onRef.replaced).toBe(true);
    const py = await runPython<{ runs: string[]; emb_field: string; count: number; v: (number | null)[]; ref32: (number | null)[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "emb_field": ds.get_brain_info("twice").config.embeddings_field,
  "count": fo.core.odm.get_db_conn().runs.count_documents({"_dataset_id": ds._doc.id, "key": "twice"}),
  "v": ds.values("twice"), "ref32": ds.values("ref_uniqueness32")}))
`);
    expect(py.runs.filter((k) => k === "twice")).toHaveLength(1);
    expect(py.emb_field).toBe("emb32");
    expect(py.count).toBe(1);
    expectParity(py.v, py.ref32);
  });

  it("deleting a score run through the runtime removes its field too", async () => {
    const del = (await executeJob(request("delete_brain_run", { brain_key: "mistakenness_logits" }))) as { deletedFields: string[] };
    expect(del.deletedFields).toEqual(["mistakenness_logits"]);
    const py = await runPython<{ runs: string[]; field: boolean; raw: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "field": ds.has_field("mistakenness_logits"), "raw": len(ds.exists("mistakenness_logits"))}))
`);
    expect(py.runs).not.toContain("mistakenness_logits");
    expect(py).toMatchObject({ field: false, raw: 0 });
  });
});

describe("bad input: clear errors naming the field and sample, nothing written", () => {
  it("refuses missing, mistyped and broken fields", async () => {
    await expect(run("compute_uniqueness", { embeddings: "nope", uniqueness_field: "u_bad" })).rejects.toMatchObject({
      code: "FIELD_NOT_FOUND",
      message: expect.stringContaining("'nope'"),
    });
    await expect(run("compute_uniqueness", { embeddings: "gt", uniqueness_field: "u_bad" })).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringContaining("'gt'"),
    });
    await expect(run("compute_uniqueness", { embeddings: "emb_nan", uniqueness_field: "u_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringMatching(new RegExp(`'emb_nan'.*'${ids[12]}'.*NaN`)),
    });
    await expect(run("compute_uniqueness", { embeddings: "emb_mixed", uniqueness_field: "u_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringContaining(`'${ids[20]}' has 8`),
    });
    await expect(run("compute_uniqueness", { embeddings: "emb_empty", uniqueness_field: "u_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringContaining("no value"),
    });
    await expect(run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "not-a-key" })).rejects.toMatchObject({
      code: "INVALID_PARAMS",
    });
    await expect(run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "gt" })).rejects.toMatchObject({
      code: "FIELD_EXISTS",
    });
    await expect(run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "ref_hardness" })).rejects.toMatchObject({
      code: "BRAIN_KEY_EXISTS",
      message: expect.stringContaining("Cannot overwrite existing brain method run 'ref_hardness'"),
    });
    await expect(run("compute_hardness", { label_field: "dets", hardness_field: "h_bad" })).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringContaining("'dets'"),
    });
    await expect(run("compute_hardness", { label_field: "pred_nologits", hardness_field: "h_bad" })).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: `Sample '${ids[0]}' field 'pred_nologits' has no logits`,
    });
    await expect(
      run("compute_mistakenness", { pred_field: "pred_nologits", label_field: "gt", use_logits: true, mistakenness_field: "m_bad" }),
    ).rejects.toMatchObject({ code: "INVALID_DATA", message: `Sample '${ids[0]}' field 'pred_nologits' has no logits` });
    await expect(
      run("compute_mistakenness", { pred_field: "pred_multi", label_field: "gt", mistakenness_field: "m_bad" }),
    ).rejects.toMatchObject({ code: "INVALID_FIELD_TYPE" });
    await expect(
      run("compute_mistakenness", { pred_field: "pred_multi", label_field: "gt_multi", mistakenness_field: "m_bad" }),
    ).rejects.toMatchObject({ code: "INVALID_DATA", message: expect.stringContaining("use_logits") });
    // detections against classifications: the two fields must be of one kind
    await expect(run("compute_mistakenness", { pred_field: "dets", label_field: "gt", mistakenness_field: "m_bad" })).rejects.toMatchObject({
      code: "INVALID_FIELD_TYPE",
      message: expect.stringContaining("'gt'"),
    });
    await expect(run("compute_mistakenness", { pred_field: "pred", label_field: "gt", mistakenness_field: "ref_mistakenness", use_logits: true })).resolves.toMatchObject({
      replaced: true,
    });
    await expect(run("compute_mistakenness", { pred_field: "pred", label_field: "pred_nologits", mistakenness_field: "ref_mistakenness" })).rejects.toMatchObject({
      code: "BRAIN_KEY_EXISTS",
      message: expect.stringContaining("label_field=gt"),
    });
    await expect(run("compute_uniqueness", { embeddings: "emb", uniqueness_field: "u_empty" }, { sample_ids: [] })).rejects.toMatchObject({
      code: "EMPTY_VIEW",
    });

    const py = await runPython<{ runs: string[]; fields: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"runs": ds.list_brain_runs(), "fields": list(ds.get_field_schema().keys())}))
`);
    for (const f of ["u_bad", "h_bad", "m_bad", "u_empty", "not-a-key"]) {
      expect(py.runs).not.toContain(f);
      expect(py.fields).not.toContain(f);
    }
  });
});

describe("uniqueness above the reference's 15000-row precompute limit", () => {
  const LARGE = "brain_ts_scores_large";
  it("reproduces the reference's Euclidean k-NN on normalised vectors (chord distances) within 1e-6", async () => {
    await runPython(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(7)
n = 15010
ds = fo.Dataset(${JSON.stringify(LARGE)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/nonexistent/%d.png" % i) for i in range(n)])
ds.set_values("emb", list(rng.randn(n, 8)))
fob.compute_uniqueness(ds, embeddings="emb", uniqueness_field="ref_uniqueness")
print(json.dumps(len(ds)))
`);
    const started = Date.now();
    const r = (await executeJob({ ...request("compute_uniqueness", { embeddings: "emb" }), dataset: LARGE })) as ScoreResult;
    const seconds = (Date.now() - started) / 1000;
    expect(r.numScored).toBe(15010);
    const v = await runPython<{ ours: number[]; ref: number[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(LARGE)})
print(json.dumps({"ours": ds.values("uniqueness"), "ref": ds.values("ref_uniqueness")}))
`);
    expectParity(v.ours, v.ref);
    console.log(`uniqueness of 15010 × 8 embeddings: ${seconds.toFixed(1)} s`);
  });
});
