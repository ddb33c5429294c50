import { inflateSync } from "node:zlib";
import { GridFSBucket, ObjectId } from "mongodb";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { loadDataset } from "../../src/fiftyone/datasets";
import { parseNpy } from "../../src/fiftyone/numpy";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { VisualizationResult } from "../../src/runtime/jobs/visualization";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(180_000);

const DATASET = "brain_ts_visualization";

function request(params: Record<string, unknown>, dataset = DATASET, target?: JobRequest["target"]): JobRequest {
  return { method: "compute_visualization", params, database: testDatabase(), dataset, fiftyone_version: "1.22.1", target };
}

/** Our stored points and ids, decoded here from the run's GridFS results. */
async function storedResults(key: string, dataset = DATASET): Promise<{ points: number[][]; ids: string[]; cls: string }> {
  const db = await openDatabase(testDatabase());
  const ds = await loadDataset(db, dataset);
  const run = await db.collection("runs").findOne({ _id: ds.brain_methods![key] });
  const chunks: Buffer[] = [];
  for await (const c of new GridFSBucket(db).openDownloadStream(run!.results as ObjectId)) chunks.push(c as Buffer);
  const doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const pts = parseNpy(inflateSync(Buffer.from(doc.points, "base64")));
  const [n, d] = pts.shape;
  const idsRaw = inflateSync(Buffer.from(doc.sample_ids, "base64"));
  const header = idsRaw.readUInt16LE(8);
  const width = Number(/<U(\d+)/.exec(idsRaw.subarray(10, 10 + header).toString())![1]);
  const body = idsRaw.subarray(10 + header);
  const ids = Array.from({ length: n }, (_, i) => String.fromCodePoint(...Array.from({ length: width }, (_, c) => body.readUInt32LE((i * width + c) * 4)).filter((x) => x)));
  return { points: Array.from({ length: n }, (_, i) => Array.from(pts.data.subarray(i * d, (i + 1) * d))), ids, cls: doc.cls };
}

async function brainKeys(dataset = DATASET): Promise<string[]> {
  const db = await openDatabase(testDatabase());
  return Object.keys((await loadDataset(db, dataset)).brain_methods ?? {}).sort();
}

let ids: string[] = [];

beforeAll(async () => {
  // 90 samples in 3 clusters of 16-d embeddings, and 2 samples without embeddings.
  ids = await runPython<string[]>(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(5)
centres = rng.randn(3, 16) * 8
emb = [centres[i % 3] + rng.randn(16) for i in range(90)]
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/viz_%d.png" % i, cluster=str(i % 3) if i < 90 else None) for i in range(92)])
ds.set_values("emb", emb + [None, None])
ds.set_values("xy", [[float(i), float(-i)] for i in range(len(ds))])
bad = fo.Dataset(${JSON.stringify(DATASET + "_nan")}, overwrite=True)
bad.persistent = True
bad.add_samples([fo.Sample(filepath="/tmp/vizn_%d.png" % i) for i in range(30)])
vals = [rng.randn(8) for _ in range(30)]
vals[17][3] = np.nan
bad.set_values("emb", vals)
print(json.dumps(ds.values("id")))
`);
});
afterAll(closeDatabases);

describe("compute_visualization", () => {
  it("PCA equals fiftyone-brain's method='pca' up to the documented sign convention", async () => {
    const ours = (await executeJob(request({ brain_key: "pca2", embeddings: "emb", method: "pca", num_dims: 2 }))) as VisualizationResult;
    expect(ours).toMatchObject({ method: "pca", numDims: 2, numPoints: 90, numMissing: 2, numSamples: 92 });
    const ref = await runPython<{ points: number[][]; ids: string[]; sklearn: string }>(`
import json, sklearn, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
r = fob.compute_visualization(ds.exists("emb"), embeddings="emb", method="pca", num_dims=2, seed=0, verbose=False)
print(json.dumps({"points": r.points.tolist(), "ids": list(r.sample_ids), "sklearn": sklearn.__version__}))
`);
    const stored = await storedResults("pca2");
    expect(stored.ids).toEqual(ref.ids);
    // Per-component sign between ours and the reference; scikit-learn ≥ 1.5 uses our convention, so it is +1.
    const signs = [0, 1].map((c) => Math.sign(stored.points[0][c] * ref.points[0][c]));
    const [major, minor] = ref.sklearn.split(".").map(Number);
    if (major > 1 || (major === 1 && minor >= 5)) expect(signs).toEqual([1, 1]);
    stored.points.forEach((p, i) => p.forEach((v, c) => expect(v).toBeCloseTo(signs[c] * ref.points[i][c], 3)));
  });

  it("stores UMAP and t-SNE runs that Python loads as VisualizationResults with our points", async () => {
    const u = (await executeJob(request({ brain_key: "umap2", embeddings: "emb", method: "umap", seed: 3, num_neighbors: 10 }))) as VisualizationResult;
    const t = (await executeJob(request({ brain_key: "tsne3", embeddings: "emb", method: "tsne", num_dims: 3, perplexity: 10, max_iters: 400 }))) as VisualizationResult;
    await executeJob(request({ brain_key: "tsne_auto", embeddings: "emb", method: "tsne", perplexity: 10, max_iters: 400, learning_rate: "auto" }));
    expect(u).toMatchObject({ method: "umap", numDims: 2, numPoints: 90, numMissing: 2 });
    expect(t).toMatchObject({ method: "tsne", numDims: 3, numPoints: 90 });
    const py = await runPython<Record<string, { cls: string; config: Record<string, unknown>; points: number[][]; ids: string[]; view: number; inView: number; purity: number }>>(`
import json, numpy as np, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
out = {}
for key in ["umap2", "tsne3", "tsne_auto"]:
    r = ds.load_brain_results(key)
    info = ds.get_brain_info(key)
    labels = np.array(ds.select(list(r.sample_ids), ordered=True).values("cluster"))
    d = ((r.points[:, None, :] - r.points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :5]
    with r.use_view(ds.take(20, seed=1)):
        in_view = len(r.current_points)
    out[key] = {"cls": type(r).__module__ + "." + type(r).__name__, "config": info.config.serialize(),
                "points": r.points.tolist(), "ids": list(r.sample_ids), "view": len(ds.load_brain_view(key)),
                "inView": in_view, "purity": float((labels[nn] == labels[:, None]).mean())}
print(json.dumps(out))
`);
    for (const key of ["umap2", "tsne3", "tsne_auto"]) {
      const stored = await storedResults(key);
      expect(py[key].cls).toBe("fiftyone.brain.visualization.VisualizationResults");
      expect(py[key].ids).toEqual(stored.ids);
      expect(py[key].points).toEqual(stored.points);
      expect(py[key].view).toBe(92);
      expect(py[key].inView).toBeGreaterThan(15);
      expect(py[key].purity).toBeGreaterThan(0.95);
    }
    expect(py.umap2.config).toMatchObject({ cls: "fiftyone.brain.visualization.UMAPVisualizationConfig", method: "umap", num_dims: 2, num_neighbors: 10, min_dist: 0.1, seed: 3, embeddings_field: "emb" });
    expect(py.tsne3.config).toMatchObject({ cls: "fiftyone.brain.visualization.TSNEVisualizationConfig", method: "tsne", num_dims: 3, perplexity: 10, learning_rate: 200, max_iters: 400 });
    // scikit-learn's "auto", as the reference passes it through
    expect(py.tsne_auto.config).toMatchObject({ learning_rate: "auto" });
    expect(py.umap2.points[0].length).toBe(2);
    expect(py.tsne3.points[0].length).toBe(3);

    // The same seed gives the same UMAP points.
    await executeJob(request({ brain_key: "umap2_again", embeddings: "emb", method: "umap", seed: 3, num_neighbors: 10 }));
    expect((await storedResults("umap2_again")).points).toEqual((await storedResults("umap2")).points);

    const deleted = await runPython<string[]>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
ds.delete_brain_run("umap2_again")
print(json.dumps(ds.list_brain_runs(type="visualization")))
`);
    expect(deleted).toEqual(expect.arrayContaining(["tsne3", "tsne_auto", "umap2"]));
    expect(deleted).not.toContain("umap2_again");
  });

  it("takes manual points from a list, by sample id or from a field, on a view", async () => {
    const target = { sample_ids: ids.slice(0, 5) };
    await executeJob(request({ brain_key: "manual_list", points: [[0, 1], [2, 3], [4, 5], [6, 7], null] }, DATASET, target));
    const listed = await storedResults("manual_list");
    expect(listed.ids).toEqual(ids.slice(0, 4));
    expect(listed.points).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
    await executeJob(request({ brain_key: "manual_field", method: "manual", points: "xy" }));
    expect((await storedResults("manual_field")).points[10]).toEqual([10, -10]);
    const r = (await executeJob(request({ brain_key: "manual_dict", points: { [ids[3]]: [1, 2, 3] } }, DATASET, target))) as VisualizationResult;
    expect(r).toMatchObject({ method: "manual", numDims: 3, numPoints: 1, numMissing: 4 });
    const py = await runPython<{ points: number[][]; method: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
r = ds.load_brain_results("manual_dict")
print(json.dumps({"points": r.points.tolist(), "method": r.config.method}))
`);
    expect(py).toEqual({ points: [[1, 2, 3]], method: "manual" });
  });

  it("lays out patches: one point per label with an embedding, as fiftyone-brain's patches run", async () => {
    await runPython(`
import json, numpy as np, fiftyone as fo
rng = np.random.RandomState(8)
ds = fo.Dataset(${JSON.stringify(DATASET + "_patches")}, overwrite=True)
ds.persistent = True
samples = []
for i in range(12):
    dets = [fo.Detection(label="a", bounding_box=[0.1, 0.1, 0.2, 0.2], emb=rng.randn(6) + (i % 2) * 5) for _ in range(i % 4)]
    if i == 5:
        dets.append(fo.Detection(label="b", bounding_box=[0.2, 0.2, 0.2, 0.2]))  # no embedding
    samples.append(fo.Sample(filepath="/tmp/vizp_%d.png" % i, gt=fo.Detections(detections=dets)))
ds.add_samples(samples)
ds.add_sample_field("gt.detections.emb", fo.VectorField)  # the reference looks the attribute up in the schema
print(json.dumps(len(ds)))
`);
    const ours = (await executeJob(request({ brain_key: "patches_pca", embeddings: "emb", patches_field: "gt", method: "pca" }, DATASET + "_patches"))) as VisualizationResult;
    expect(ours).toMatchObject({ numPoints: 18, numMissing: 1 });
    const py = await runPython<Record<string, { points: number[][]; sample_ids: string[]; label_ids: string[]; config: Record<string, unknown> }>>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET + "_patches")})
fob.compute_visualization(ds, patches_field="gt", embeddings="emb", method="pca", brain_key="ref", verbose=False)
out = {}
for key in ["ref", "patches_pca"]:
    r = ds.load_brain_results(key)
    c = ds.get_brain_info(key).config.serialize()
    out[key] = {"points": r.points.tolist(), "sample_ids": list(r.sample_ids), "label_ids": list(r.label_ids),
                "config": {k: c[k] for k in ["patches_field", "embeddings_field", "num_dims", "method"]}}
print(json.dumps(out))
`);
    expect(py.patches_pca.label_ids).toEqual(py.ref.label_ids);
    expect(py.patches_pca.sample_ids).toEqual(py.ref.sample_ids);
    expect(py.patches_pca.config).toEqual(py.ref.config);
    py.patches_pca.points.forEach((p, i) => p.forEach((v, c) => expect(Math.abs(v)).toBeCloseTo(Math.abs(py.ref.points[i][c]), 3)));

    // points_field of patches: an attribute of each label, as the reference's; renamed and removed with the run
    const patches = DATASET + "_patches";
    await executeJob(request({ brain_key: "pts_patches", embeddings: "emb", patches_field: "gt", method: "pca", points_field: "pts_patches", create_index: true }, patches));
    await expect(executeJob(request({ brain_key: "pts_bad", embeddings: "emb", patches_field: "gt", method: "pca", points_field: "emb" }, patches))).rejects.toThrow(/already have an attribute 'emb'/);
    const labelPoints = (key: string) => runPython<{ ours: Array<number[] | null>; ref: Array<number[] | null>; schema: Record<string, string>; config: unknown }>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(patches)})
if "ref_pts" not in ds.list_brain_runs():
    fob.compute_visualization(ds, patches_field="gt", embeddings="emb", method="pca", brain_key="ref_pts", points_field="ref_pts", verbose=False)
schema = ds.get_field_schema(flat=True)
print(json.dumps({"ours": [p for ps in ds.values("gt.detections.${key}") for p in (ps or [])], "ref": [p for ps in ds.values("gt.detections.ref_pts") for p in (ps or [])],
  "schema": {k: type(v).__name__ for k, v in schema.items() if k.startswith("gt.detections.") and "pts" in k},
  "config": ds.get_brain_info("${key}").config.points_field if "${key}" in ds.list_brain_runs() else None}))
`);
    const before = await labelPoints("pts_patches");
    expect(before.ours.length).toBe(19); // 18 with an embedding, one without (None)
    before.ours.forEach((p, i) => {
      if (p === null) return expect(before.ref[i]).toBeNull();
      p.forEach((v, c) => expect(Math.abs(v)).toBeCloseTo(Math.abs(before.ref[i]![c]), 3));
    });
    expect(before.schema).toEqual({ "gt.detections.pts_patches": "ListField", "gt.detections.ref_pts": "ListField" });
    expect(before.config).toBe("pts_patches");
    await executeJob({ ...request({ brain_key: "pts_patches", new_brain_key: "pts_renamed" }, patches), method: "rename_brain_run" });
    const renamed = await labelPoints("pts_renamed");
    expect(renamed.ours).toEqual(before.ours);
    expect(renamed.schema).toEqual({ "gt.detections.pts_renamed": "ListField", "gt.detections.ref_pts": "ListField" });
    expect(renamed.config).toBe("pts_renamed");
    await executeJob({ ...request({ brain_key: "pts_renamed" }, patches), method: "delete_brain_run" });
    const gone = await runPython<{ schema: string[]; values: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(patches)})
print(json.dumps({"schema": [k for k in ds.get_field_schema(flat=True) if "pts" in k], "values": ds.count_values("gt.detections.pts_renamed").get(None, 0)}))
`);
    expect(gone.schema).toEqual(["gt.detections.ref_pts"]);
    expect(await runPython<number>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(patches)})
print(json.dumps(ds._sample_collection.count_documents({"gt.detections.pts_renamed": {"$exists": True}})))
`)).toBe(0);
  });

  it("stores the points in a field with a 2d index (points_field / create_index) that Python uses, removed with the run", async () => {
    const ours = (await executeJob(request({ brain_key: "pca_pts", embeddings: "emb", method: "pca", create_index: true }))) as VisualizationResult;
    expect(ours.numPoints).toBe(90);
    const stored = await storedResults("pca_pts");
    const py = await runPython<{ ftype: string; sub: string; spatial: boolean; field: string; index: Record<string, unknown>; values: Record<string, number[]>; inBox: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
r = ds.load_brain_results("pca_pts")
f = ds.get_field("pca_pts")
index = ds.get_index_information()["pca_pts"]
vals = dict(zip(ds.values("id"), ds.values("pca_pts")))
lo, hi = index["min"], index["max"]
# a $geoWithin query on the index, as the App's Embeddings panel makes for a lasso
in_box = ds._sample_collection.count_documents({"pca_pts": {"$geoWithin": {"$box": [[lo, lo], [0, hi]]}}})
print(json.dumps({"ftype": type(f).__name__, "sub": type(f.field).__name__, "spatial": r.has_spatial_index, "field": r.config.points_field,
  "index": {k: v for k, v in index.items() if k in ("key", "min", "max")}, "values": vals, "inBox": in_box}))
`);
    expect(py).toMatchObject({ ftype: "ListField", sub: "FloatField", spatial: true, field: "pca_pts" });
    stored.ids.forEach((id, i) => expect(py.values[id]).toEqual(stored.points[i].map((v) => Math.fround(v))));
    const xs = stored.points.flat();
    expect(py.index).toMatchObject({ min: Math.min(...xs), max: Math.max(...xs) });
    expect(py.inBox).toBe(stored.points.filter(([x]) => x <= 0).length);

    // bad input: 3-D points, an existing field
    await expect(executeJob(request({ brain_key: "p3", embeddings: "emb", method: "pca", num_dims: 3, points_field: "p3f" }))).rejects.toThrow(/only supported when num_dims=2/);
    await expect(executeJob(request({ brain_key: "p4", embeddings: "emb", method: "pca", points_field: "emb" }))).rejects.toThrow(/already exists/);
    expect(await brainKeys()).not.toContain("p3");

    // renaming the run renames the field named after it, with its index
    await executeJob({ ...request({ brain_key: "pca_pts", new_brain_key: "pca_pts2" }), method: "rename_brain_run" });
    const renamed = await runPython<{ has: boolean[]; index: Record<string, unknown>; field: string; values: Record<string, number[]>; points: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
index = ds.get_index_information()["pca_pts2"]
print(json.dumps({"has": [ds.has_field("pca_pts"), ds.has_field("pca_pts2")], "index": {k: v for k, v in index.items() if k in ("key", "min", "max")},
  "field": ds.get_brain_info("pca_pts2").config.points_field, "values": dict(zip(ds.values("id"), ds.values("pca_pts2"))),
  "points": len(ds.load_brain_results("pca_pts2").points)}))
`);
    expect(renamed).toMatchObject({ has: [false, true], field: "pca_pts2", points: 90, index: { key: [["pca_pts2", "2d"]], min: py.index.min, max: py.index.max } });
    expect(renamed.values).toEqual(py.values);

    await executeJob({ ...request({ brain_key: "pca_pts2" }), method: "delete_brain_run" });
    const after = await runPython<{ has: boolean; indexes: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"has": ds.has_field("pca_pts2"), "indexes": list(ds.get_index_information())}))
`);
    expect(after).toEqual({ has: false, indexes: expect.not.arrayContaining(["pca_pts", "pca_pts2"]) });
  });

  it("refuses bad input with a clear error and writes nothing", async () => {
    await executeJob(request({ brain_key: "taken", points: "xy" }));
    const before = await brainKeys();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ brain_key: "b1", embeddings: "emb", method: "pca", num_dims: 4 }, /num_dims must be 2 or 3; got 4/],
      [{ brain_key: "b2", embeddings: "emb", method: "umap", num_neighbors: 200 }, /needs more than 200 samples/],
      [{ brain_key: "b3", embeddings: "emb", method: "tsne", perplexity: 95 }, /perplexity/],
      [{ brain_key: "b4", embeddings: "nope", method: "pca" }, /does not exist/],
      [{ brain_key: "b5", embeddings: "emb", method: "isomap" }, /Unsupported method 'isomap'/],
      [{ brain_key: "b6", method: "manual" }, /provide your own `points`/],
      [{ brain_key: "taken", embeddings: "emb", method: "pca" }, /already exists/],
      [{ brain_key: "not-valid", embeddings: "emb", method: "pca" }, /valid Python identifiers/],
      [{ brain_key: "b7", embeddings: "emb", method: "umap", learning_rate: 3 }, /Unknown parameter 'learning_rate'/],
      [{ brain_key: "b8", embeddings: "emb", method: "tsne", learning_rate: "fast" }, /'learning_rate' must be a positive number or 'auto'/],
    ];
    for (const [params, message] of bad) await expect(executeJob(request(params))).rejects.toThrow(message);
    await expect(executeJob(request({ brain_key: "n1", embeddings: "emb", method: "umap" }, DATASET + "_nan"))).rejects.toThrow(/sample '[0-9a-f]{24}' contains NaN/);
    expect(await brainKeys()).toEqual(before);
    expect(await brainKeys(DATASET + "_nan")).toEqual([]);
  });

  it("uses the brain config's default method and method parameters", async () => {
    const env = { FIFTYONE_BRAIN_DEFAULT_VISUALIZATION_METHOD: "pca" };
    const saved = { ...process.env };
    Object.assign(process.env, env, { FIFTYONE_BRAIN_VISUALIZATION_UMAP_NUM_NEIGHBORS: "7" });
    try {
      expect(await executeJob(request({ brain_key: "cfg_default", embeddings: "emb" }))).toMatchObject({ method: "pca" });
      await executeJob(request({ brain_key: "cfg_umap", embeddings: "emb", method: "umap", seed: 1 }));
    } finally {
      process.env = saved;
    }
    const cfg = await runPython<Record<string, unknown>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps(ds.get_brain_info("cfg_umap").config.serialize()))
`);
    expect(cfg).toMatchObject({ method: "umap", num_neighbors: 7 });
  });
});
