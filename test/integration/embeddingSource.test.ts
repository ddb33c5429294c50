import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrainConfig } from "../../src/config/brainConfig";
import { closeDatabases, openDatabase } from "../../src/fiftyone/database";
import { loadDataset } from "../../src/fiftyone/datasets";
import { loadEmbeddingModel } from "../../src/embeddings/loadModel";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import type { JobContext } from "../../src/runtime/job";
import { parseEmbeddingSourceParams, resolveEmbeddings } from "../../src/runtime/embeddingSource";
import type { ComputeEmbeddingsResult } from "../../src/runtime/jobs/computeEmbeddings";
import { runPython, testDatabase } from "../support/fiftyone";
import { toyProjectionModel, writeModel, writeToyClip } from "../support/toyClip";

jest.setTimeout(180_000);

const GOOD = "brain_ts_emb_source";
const BAD = "brain_ts_emb_bad";
const dir = mkdtempSync(join(tmpdir(), "brain-ts-embsrc-"));
const proj = writeModel(join(dir, "models"), "proj", toyProjectionModel(16, 8));
const nan = writeModel(join(dir, "models"), "nan", toyProjectionModel(16, 8, 0.3));
const toy = writeToyClip(join(dir, "toy"));

function request(dataset: string, method: string, params: Record<string, unknown>): JobRequest {
  return { method, params, database: testDatabase(), dataset, fiftyone_version: "1.22.1" };
}

/** A job context as executeJob builds it (the brain config too, for branches whose JobContext has it). */
async function context(dataset: string): Promise<JobContext> {
  const db = await openDatabase(testDatabase());
  return { db, dataset: await loadDataset(db, dataset), target: {}, fiftyoneVersion: "1.22.1", brainConfig: loadBrainConfig(), signal: new AbortController().signal, progress: () => undefined };
}

type Crops = { samples: Array<{ id: string; filepath: string; labels: string[] }>; crops: Record<string, string> };
let crops: Crops;

beforeAll(async () => {
  writeFileSync(join(dir, "fake.png"), "not an image");
  // Noise images (PNG: identical pixels for FiftyOne's OpenCV and sharp), boxes partly
  // outside the image, and FiftyOne's own extract_patch cutting the reference crops.
  crops = await runPython<Crops>(`
import json, os, numpy as np, fiftyone as fo
from PIL import Image
import fiftyone.utils.patches as foup
import fiftyone.utils.image as foui
d = ${JSON.stringify(dir)}
os.makedirs(d + "/crops", exist_ok=True)
rs = np.random.RandomState(3)
def noise(p, w, h, bright=False):
    a = (rs.rand(h, w, 3) * (128 if not bright else 255)).astype("uint8")
    if bright: a = np.maximum(a, 160).astype("uint8")
    Image.fromarray(a).save(p)
    return p
boxes = [
    [[0.1, 0.2, 0.3, 0.5], [0.6, 0.05, 0.35, 0.2]],
    [[0.85, 0.7, 0.3, 0.4]],
    [],
]
samples = []
for i, bb in enumerate(boxes):
    p = noise("%s/img%d.png" % (d, i), 97 + 20 * i, 71 + 9 * i, bright=(i == 1))
    dets = fo.Detections(detections=[fo.Detection(label="obj", bounding_box=b) for b in bb])
    poly = fo.Polylines(polylines=[fo.Polyline(label="p", points=[[[0.2, 0.3], [0.7, 0.4], [0.4, 0.9]]])]) if i == 0 else None
    samples.append(fo.Sample(filepath=p, gt=dets, poly=poly))
ds = fo.Dataset(${JSON.stringify(GOOD)}, overwrite=True)
ds.persistent = True
ds.add_samples(samples)
out = {"samples": [], "crops": {}}
for s in ds:
    img = foui.read(s.filepath)
    labels = []
    for det in s.gt.detections:
        patch = foup.extract_patch(img, det, force_square=True, alpha=0.1)
        path = "%s/crops/%s.png" % (d, det.id)
        Image.fromarray(patch).save(path)
        out["crops"][det.id] = path
        labels.append(det.id)
    if s.poly is not None:
        for pl in s.poly.polylines:
            patch = foup.extract_patch(img, pl.to_detection(), force_square=True, alpha=0.1)
            path = "%s/crops/%s.png" % (d, pl.id)
            Image.fromarray(patch).save(path)
            out["crops"][pl.id] = path
    out["samples"].append({"id": s.id, "filepath": s.filepath, "labels": labels})

ok = noise(d + "/ok.png", 50, 40)
jpg = d + "/full.jpg"
Image.fromarray((rs.rand(60, 80, 3) * 255).astype("uint8")).save(jpg, quality=90)
b = open(jpg, "rb").read()
open(d + "/trunc.jpg", "wb").write(b[: len(b) // 2])
Image.fromarray((rs.rand(30, 30, 3) * 255).astype("uint8")).save(d + "/img.bmp")
bad = fo.Dataset(${JSON.stringify(BAD)}, overwrite=True)
bad.persistent = True
one = lambda: fo.Detections(detections=[fo.Detection(label="x", bounding_box=[0.1, 0.1, 0.5, 0.5])])
bad.add_samples([
    fo.Sample(filepath=ok, gt=fo.Detections(detections=[fo.Detection(label="x", bounding_box=[0.1, 0.1, 0.5, 0.5]), fo.Detection(label="empty", bounding_box=[0.5, 0.5, 0.0, 0.0])])),
    fo.Sample(filepath=d + "/trunc.jpg", gt=one()),
    fo.Sample(filepath=d + "/missing.png", gt=one()),
    fo.Sample(filepath=d + "/img.bmp", gt=one()),
    fo.Sample(filepath=d + "/fake.png", gt=one()),
])
print(json.dumps(out))
`);
});
afterAll(closeDatabases);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("patch embeddings", () => {
  it("equal the embeddings of FiftyOne's own crops (alpha, force_square), and Python reads them from the labels", async () => {
    const result = (await executeJob(
      request(GOOD, "compute_embeddings", { model: proj, patches_field: "gt", embeddings_field: "emb", alpha: 0.1, force_square: true, batch_size: 2 }),
    )) as ComputeEmbeddingsResult;
    expect(result).toMatchObject({ model: "proj (" + proj + ")", dim: 8, numSamples: 3, numEmbedded: 3, numFailures: 0, labelPath: "gt.detections.emb" });
    const stored = await runPython<{ values: Array<Array<number[]> | null>; ftype: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(GOOD)})
print(json.dumps({"values": [[v.tolist() for v in vs] if vs is not None else None for vs in ds.values("gt.detections.emb")], "ftype": type(ds.get_field("gt.detections.emb")).__name__}))
`);
    expect(stored.ftype).toBe("VectorField");
    const model = await loadEmbeddingModel(proj);
    const labels = crops.samples.flatMap((s) => s.labels);
    const direct = await model.embedImages(labels.map((l) => crops.crops[l]));
    expect(direct.indices).toEqual([0, 1, 2]);
    const flat = stored.values.flatMap((vs) => vs ?? []).flat();
    expect(stored.values.map((vs) => vs?.length ?? 0)).toEqual([2, 1, 0]);
    expect(maxDiff(flat, direct.vectors)).toBeLessThan(1e-5);
    // ...and a 1-pixel different crop would not match: the comparison can fail.
    expect(Math.max(...Array.from(direct.vectors, Math.abs))).toBeGreaterThan(0.05);

    // Polylines: the tight box around all points, as FiftyOne's to_detection().
    const ctx = await context(GOOD);
    const poly = await resolveEmbeddings(ctx, parseEmbeddingSourceParams({ model: proj, patches_field: "poly", alpha: 0.1, force_square: true }));
    expect(poly.ids).toEqual([crops.samples[0].id]);
    const polyCrop = Object.keys(crops.crops).find((k) => !labels.includes(k)) as string;
    expect(poly.labelIds).toEqual([polyCrop]);
    const polyDirect = await model.embedImages([crops.crops[polyCrop]]);
    expect(maxDiff(poly.vectors, polyDirect.vectors)).toBeLessThan(1e-5);
    await model.close();
  });

  it("the resolver reads label embeddings back, averages ROI patches (whole image without ROI labels), and stores model output into a named field", async () => {
    const ctx = await context(GOOD);
    const read = await resolveEmbeddings(ctx, parseEmbeddingSourceParams({ embeddings: "gt.detections.emb", patches_field: "gt" }));
    expect(read).toMatchObject({ dim: 8, model: null, field: "gt.detections.emb", numMissing: 0 });
    expect(read.ids).toEqual([crops.samples[0].id, crops.samples[0].id, crops.samples[1].id]);
    expect(read.labelIds).toEqual(crops.samples.flatMap((s) => s.labels));

    const roi = await resolveEmbeddings(ctx, parseEmbeddingSourceParams({ model: proj, roi_field: "gt", alpha: 0.1, force_square: true }));
    expect(roi.ids).toEqual(crops.samples.map((s) => s.id));
    const mean = Array.from({ length: 8 }, (_, k) => (read.vectors[k] + read.vectors[8 + k]) / 2);
    expect(maxDiff(roi.vectors.subarray(0, 8), mean)).toBeLessThan(1e-5);
    expect(maxDiff(roi.vectors.subarray(8, 16), read.vectors.subarray(16, 24))).toBeLessThan(1e-6);
    const model = await loadEmbeddingModel(proj);
    const whole = await model.embedImages([crops.samples[2].filepath]);
    expect(maxDiff(roi.vectors.subarray(16, 24), whole.vectors)).toBeLessThan(1e-6);

    // Named field that does not exist + a model: computed, then stored (spec §0.1).
    const computed = await resolveEmbeddings(ctx, parseEmbeddingSourceParams({ embeddings: "img_emb", model: proj, decode_threads: 0 }));
    expect(computed).toMatchObject({ dim: 8, field: "img_emb", numFailures: 0 });
    const fromPython = await runPython<number[][]>(`
import json, fiftyone as fo
print(json.dumps([v.tolist() for v in fo.load_dataset(${JSON.stringify(GOOD)}).values("img_emb")]))`);
    expect(maxDiff(fromPython.flat(), computed.vectors)).toBe(0);
    expect(maxDiff(computed.vectors.subarray(16, 24), whole.vectors)).toBe(0);
    // The field exists now: it is read, and a model of another dimension is refused.
    const again = await resolveEmbeddings(ctx, parseEmbeddingSourceParams({ embeddings: "img_emb", model: proj }));
    expect(again.model).toBeNull();
    await expect(resolveEmbeddings(ctx, parseEmbeddingSourceParams({ embeddings: "img_emb", model: toy.manifestPath }))).rejects.toMatchObject({
      code: "INVALID_DATA",
      message: expect.stringContaining("holds 8-d embeddings, but the model 'toy_clip' computes 3-d ones"),
    });
    await model.close();
  });
});

describe("bad input", () => {
  it("counts truncated, missing, unsupported and non-image files and empty boxes per sample and label, or stops and writes nothing", async () => {
    const result = (await executeJob(request(BAD, "compute_embeddings", { model: proj, patches_field: "gt", embeddings_field: "emb" }))) as ComputeEmbeddingsResult;
    expect(result).toMatchObject({ numSamples: 5, numEmbedded: 1, numFailures: 5 });
    const byFile = Object.fromEntries(result.failures.map((f) => [f.filepath.split("/").pop() + (f.error.includes("empty") ? ":empty" : ""), f.error]));
    expect(byFile).toEqual({
      "ok.png:empty": "the label's box is empty in this image",
      "trunc.jpg": expect.stringMatching(/premature end|truncated/),
      "missing.png": expect.stringMatching(/missing\.png.*(missing|exist)/i),
      "img.bmp": expect.stringContaining("unsupported image format"),
      "fake.png": expect.stringContaining("unsupported image format"),
    });
    expect(result.failures.every((f) => typeof f.labelId === "string" && f.id.length === 24)).toBe(true);

    await expect(executeJob(request(BAD, "compute_embeddings", { model: proj, patches_field: "gt", embeddings_field: "strict", skip_failures: false }))).rejects.toMatchObject({
      code: "MEDIA_UNREADABLE",
    });
    await expect(executeJob(request(BAD, "compute_embeddings", { model: nan, embeddings_field: "nan_strict", skip_failures: false }))).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: expect.stringContaining("NaN or infinite"),
    });
    const nanResult = (await executeJob(request(GOOD, "compute_embeddings", { model: nan, embeddings_field: "nan_emb" }))) as ComputeEmbeddingsResult;
    // img1 is bright (every channel ≥ 160/255 > 0.3): the only one without NaN.
    expect(nanResult).toMatchObject({ numEmbedded: 1, numFailures: 2 });
    expect(nanResult.failures.map((f) => f.filepath.split("/").pop())).toEqual(["img0.png", "img2.png"]);
    const state = await runPython<{ strict: number; schema: boolean; nan_strict: boolean }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(BAD)})
raw = ds._sample_collection.count_documents({"gt.detections.strict": {"$exists": True}})
print(json.dumps({"strict": raw, "schema": ds.get_field("gt.detections.strict") is not None, "nan_strict": ds.has_field("nan_strict")}))`);
    expect(state).toEqual({ strict: 0, schema: false, nan_strict: false });
  });

  it("refuses a model whose manifest does not match it before touching the dataset", async () => {
    const { text: _t, ...imageOnly } = toy.manifest;
    await expect(
      executeJob(request(GOOD, "compute_embeddings", { model: join(toy.dir, "toy_clip_image.onnx"), model_manifest: { ...imageOnly, file: undefined, output: { name: "image_embeds", dim: 5 } }, embeddings_field: "x" })),
    ).rejects.toMatchObject({ code: "MODEL_INVALID", message: expect.stringContaining("dim 5") });
  });
});
