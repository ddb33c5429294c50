import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { VisualizationPayload } from "../../src/runtime/jobs/visualizationQuery";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(120_000);

const DATASET = "brain_ts_viz_query";

interface PythonView {
  pipeline: string;
  collection: string;
  is_patches: boolean;
  /** What FiftyOne's own Embeddings panel shows for this view: point id → [x, y]. */
  points: Record<string, [number, number]>;
  /** And its colour values for the point ids (when a colour field is given). */
  colors: Record<string, string | number | null>;
}

type ViewSpec = [brainKey: string, viewExpr: string, colorBy: string | null];
const VIEWS: Record<string, ViewSpec> = {
  all: ["pca", "ds.view()", "cls.label"],
  dogs: ["pca", "ds.match(F('kind') == 'dog')", "score"],
  buses: ["boxes", "ds.filter_labels('gt', F('label') == 'bus').limit(5)", "gt.detections.label"],
  carPatches: ["boxes", "ds.to_patches('gt').match(F('gt.label') == 'car')", "gt.detections.label"],
  patchesOfSamples: ["pca", "ds.to_patches('gt').limit(10)", null],
};
let views: Record<string, PythonView>;
const pythonView = async (name: string) => views[name];

/**
 * Views made by Python (one process for all), each with what FiftyOne's own panel route
 * computes for it (fiftyone/server/routes/embeddings.py).
 */
function pythonViews(): Promise<Record<string, PythonView>> {
  const body = Object.entries(VIEWS).map(([name, [brainKey, viewExpr, colorBy]]) => `
view = ${viewExpr}
results = ds.load_brain_results(${JSON.stringify(brainKey)})
results.use_view(view, allow_missing=True)
patches_field = results.config.patches_field
ids = list(results._curr_label_ids if patches_field else results._curr_sample_ids)
points = {i: [float(p[0]), float(p[1])] for i, p in zip(ids, results._curr_points)}
colors = {}
color_by = ${colorBy ? JSON.stringify(colorBy) : "None"}
if color_by:
    v = view._root_dataset if view._is_patches else view
    labels = v._get_values_by_id(color_by, ids, link_field=patches_field)
    colors = {i: (l[0] if isinstance(l, list) and l else (None if isinstance(l, list) else l)) for i, l in zip(ids, labels)}
out[${JSON.stringify(name)}] = ({
    "pipeline": json_util.dumps(view._pipeline()),
    "collection": view._dataset._sample_collection_name,
    "is_patches": bool(view._is_patches),
    "points": points,
    "colors": colors,
})
`).join("");
  return runPython<Record<string, PythonView>>(`
import json, fiftyone as fo
from fiftyone import ViewField as F
from bson import json_util
ds = fo.load_dataset(${JSON.stringify(DATASET)})
out = {}
${body}
print(json.dumps(out))
`);
}

function request(brainKey: string, view: PythonView, colorBy?: string): JobRequest {
  return {
    method: "get_visualization",
    params: { brain_key: brainKey, ...(colorBy ? { color_by: colorBy } : {}) },
    database: testDatabase(),
    dataset: DATASET,
    target: { pipeline: view.pipeline, collection: view.collection, is_patches: view.is_patches },
  };
}

function decodeIds(b64: string): string[] {
  const bytes = Buffer.from(b64, "base64");
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 12) out.push(bytes.subarray(i, i + 12).toString("hex"));
  return out;
}

function decodePoints(p: VisualizationPayload): Record<string, [number, number]> {
  const b = Buffer.from(p.points, "base64");
  const xy = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Object.fromEntries(decodeIds(p.ids).map((id, i) => [id, [xy[2 * i], xy[2 * i + 1]]]));
}

function decodeColors(p: VisualizationPayload): Record<string, string | number | null> {
  const ids = decodeIds(p.ids);
  const color = p.color!;
  if (color.kind === "categorical") {
    const b = Buffer.from(color.codes, "base64");
    const codes = new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    return Object.fromEntries(ids.map((id, i) => [id, codes[i] === color.missingCode ? null : color.categories[codes[i]]]));
  }
  const b = Buffer.from(color.values, "base64");
  const values = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return Object.fromEntries(ids.map((id, i) => [id, Number.isNaN(values[i]) ? null : values[i]]));
}

function expectSamePoints(ours: Record<string, [number, number]>, ref: Record<string, [number, number]>) {
  expect(Object.keys(ours).sort()).toEqual(Object.keys(ref).sort());
  for (const [id, [x, y]] of Object.entries(ref)) {
    expect(ours[id][0]).toBeCloseTo(x, 5);
    expect(ours[id][1]).toBeCloseTo(y, 5);
  }
}

beforeAll(async () => {
  // 30 samples in 3 classes with 2 boxes each; a PCA run on sample embeddings (stored by
  // fiftyone-brain as compressed .npy strings) and a manual run on the boxes.
  await runPython(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(3)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
samples = []
for i in range(30):
    s = fo.Sample(filepath="/tmp/vizq_%d.png" % i, kind=["cat", "dog", "bird"][i % 3], score=i / 7.0, tags=["even" if i % 2 == 0 else "odd"])
    s["gt"] = fo.Detections(detections=[fo.Detection(label=["car", "bus"][j], bounding_box=[0.1 * j, 0.1, 0.2, 0.2], confidence=0.5 + 0.01 * i) for j in range(2)])
    s["cls"] = fo.Classification(label=["cat", "dog", "bird"][i % 3])
    samples.append(s)
ds.add_samples(samples)
ds.set_values("emb", list(rng.randn(30, 6) + np.repeat(np.eye(3, 6) * 5, 10, axis=0)))
fob.compute_visualization(ds, embeddings="emb", method="pca", brain_key="pca")
fob.compute_visualization(ds, patches_field="gt", points=rng.randn(60, 2), method="manual", brain_key="boxes")
# A sample deleted after the runs: its points must not be shown.
ds.delete_samples(ds.skip(29).limit(1))
print(json.dumps(len(ds)))
`);
  views = await pythonViews();
});
afterAll(closeDatabases);

describe("get_visualization reads FiftyOne's visualization results", () => {
  it("lists the runs", async () => {
    const out = (await executeJob({ method: "list_visualization_runs", database: testDatabase(), dataset: DATASET })) as { runs: { key: string; patchesField: string | null }[] };
    expect(out.runs.map((r) => [r.key, r.patchesField])).toEqual([["boxes", "gt"], ["pca", null]]);
  });

  it("gives the points of the whole dataset as FiftyOne's panel does, without deleted samples", async () => {
    const view = await pythonView("all");
    const ours = (await executeJob(request("pca", view, "cls.label"))) as VisualizationPayload;
    expect(ours.totalCount).toBe(30);
    expect(ours.count).toBe(29);
    expectSamePoints(decodePoints(ours), view.points);
    expect(ours.color?.kind).toBe("categorical");
    expect(decodeColors(ours)).toEqual(view.colors);
    expect(ours.colorChoices).toEqual(expect.arrayContaining(["kind", "score", "tags", "cls.label"]));
  });

  it("restricts to a view holding part of the run's samples, colouring by a number", async () => {
    const view = await pythonView("dogs");
    expect(Object.keys(view.points)).toHaveLength(10);
    const ours = (await executeJob(request("pca", view, "score"))) as VisualizationPayload;
    expectSamePoints(decodePoints(ours), view.points);
    expect(ours.color?.kind).toBe("continuous");
    const colors = decodeColors(ours);
    for (const [id, v] of Object.entries(view.colors)) expect(colors[id]).toBeCloseTo(v as number, 5);
  });

  it("gives patch points on a samples view, following its label filters", async () => {
    const view = await pythonView("buses");
    expect(Object.keys(view.points)).toHaveLength(5);
    const ours = (await executeJob(request("boxes", view, "gt.detections.label"))) as VisualizationPayload;
    expectSamePoints(decodePoints(ours), view.points);
    expect(decodeColors(ours)).toEqual(view.colors);
    expect(ours.colorChoices).toEqual(expect.arrayContaining(["gt.detections.confidence", "gt.detections.label", "gt.detections.tags"]));
    expect(ours.colorChoices.every((c) => c.startsWith("gt.detections."))).toBe(true);
    expect(decodeIds(ours.sampleIds!)).toHaveLength(5);
  });

  it("works in a patches view, for patch plots and for sample plots", async () => {
    const patchesView = await pythonView("carPatches");
    expect(patchesView.is_patches).toBe(true);
    const ours = (await executeJob(request("boxes", patchesView, "gt.detections.label"))) as VisualizationPayload;
    expect(ours.count).toBe(29);
    expectSamePoints(decodePoints(ours), patchesView.points);
    expect(new Set(Object.values(decodeColors(ours)))).toEqual(new Set(["car"]));

    const samplesPlot = await pythonView("patchesOfSamples");
    const ours2 = (await executeJob(request("pca", samplesPlot))) as VisualizationPayload;
    expectSamePoints(decodePoints(ours2), samplesPlot.points);
    expect(ours2.count).toBe(5); // 10 patches of 5 samples
  });

  it("says what is wrong with a bad request", async () => {
    const view = await pythonView("all");
    await expect(executeJob(request("nope", view))).rejects.toThrow(/no brain run with key 'nope'/);
    await expect(executeJob(request("pca", view, "filepath"))).rejects.toThrow(/Cannot colour by 'filepath'/);
  });
});
