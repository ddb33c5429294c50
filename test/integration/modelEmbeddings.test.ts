import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { LeakySplitsResult } from "../../src/runtime/jobs/leakySplits";
import { NearDuplicatesResult } from "../../src/runtime/jobs/nearDuplicates";
import { SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { runPython, testDatabase } from "../support/fiftyone";
import { writeToyClip } from "../support/toyClip";

jest.setTimeout(180_000);

// Methods that run a model on the images (the shared embeddings source): an index built with
// an image+text model stores the model's embeddings in the field and records the model, and
// text prompts and image queries are embedded by that same model; scores computed from a
// model equal the reference's on the embeddings the model stored.
const DATASET = "brain_ts_similarity_models";
const dir = mkdtempSync(join(tmpdir(), "brain-ts-simmodels-"));
const toy = writeToyClip(join(dir, "toy"));

const request = (method: string, params: Record<string, unknown>): JobRequest => ({
  method,
  params,
  database: testDatabase(),
  dataset: DATASET,
  fiftyone_version: "1.22.1",
});

let byColour: Record<string, string>;

beforeAll(async () => {
  byColour = await runPython<Record<string, string>>(`
import json, fiftyone as fo
from PIL import Image
colours = {"red": (230, 40, 30), "green": (20, 210, 60), "blue": (40, 30, 220), "darkred": (150, 20, 20),
           "orange": (230, 120, 30), "yellow": (220, 220, 40), "purple": (120, 40, 200), "grey": (128, 128, 128)}
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ids = {}
for name, rgb in colours.items():
    path = ${JSON.stringify(dir)} + "/" + name + ".png"
    Image.new("RGB", (16, 16), rgb).save(path)
    ids[name] = ds.add_sample(fo.Sample(filepath=path))
print(json.dumps(ids))
`);
});

afterAll(async () => {
  await closeDatabases();
});

describe("similarity indexes built with a model", () => {
  it("store the model's embeddings, record the model, and answer text prompts and images with it", async () => {
    await executeJob(request("compute_similarity", { brain_key: "clip", embeddings: "clip_emb", model: toy.manifestPath, backend: "exact" }));
    const stored = await runPython<{ dim: number; supports: boolean; model: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
info = ds.get_brain_info("clip")
print(json.dumps({"dim": len(ds.first()["clip_emb"]), "supports": info.config.supports_prompts, "model": info.config.model}))
`);
    expect(stored).toEqual({ dim: 3, supports: true, model: toy.manifestPath });

    const text = (await executeJob(request("sort_by_similarity", { brain_key: "clip", text: "a photo of red", k: 2 }))) as SortBySimilarityResult;
    // Both reds first (the darker one is the purer red by cosine).
    expect(new Set(text.ids)).toEqual(new Set([byColour.red, byColour.darkred]));
    const image = (await executeJob(request("sort_by_similarity", { brain_key: "clip", image: { path: join(dir, "blue.png") }, k: 1 }))) as SortBySimilarityResult;
    expect(image.ids).toEqual([byColour.blue]);
    expect(image.distances[0]).toBeCloseTo(0, 5);
  });

  it("refuse text prompts on an index whose model cannot embed them", async () => {
    await executeJob(request("compute_similarity", { brain_key: "plain", embeddings: "clip_emb", backend: "exact" }));
    await expect(executeJob(request("sort_by_similarity", { brain_key: "plain", text: "red" }))).rejects.toThrow("does not support prompts");
  });
});

describe("scores from a model", () => {
  it("uniqueness computed by a model equals fiftyone-brain's on the embeddings it stored", async () => {
    await executeJob(request("compute_uniqueness", { model: toy.manifestPath, embeddings: "uniq_emb", uniqueness_field: "u" }));
    const out = await runPython<{ ours: number[]; ref: number[]; model: string }>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
fob.compute_uniqueness(ds, embeddings="uniq_emb", uniqueness_field="u_ref")
print(json.dumps({"ours": ds.values("u"), "ref": ds.values("u_ref"), "model": ds.get_brain_info("u").config.model}))
`);
    expect(out.model).toBe("toy_clip");
    out.ours.forEach((v, i) => expect(v).toBeCloseTo(out.ref[i], 6));
  });
});

describe("near duplicates and leaky splits from a model or an index", () => {
  it("near duplicates from a model store the model's embeddings and equal fiftyone-brain's on them", async () => {
    // a near copy of the red image
    await runPython(`
import fiftyone as fo
from PIL import Image
ds = fo.load_dataset(${JSON.stringify(DATASET)})
path = ${JSON.stringify(dir)} + "/red_copy.png"
Image.new("RGB", (16, 16), (226, 42, 31)).save(path)
ds.add_sample(fo.Sample(filepath=path))
print(1)
`);
    const ours = (await executeJob(request("compute_near_duplicates", { model: toy.manifestPath, embeddings: "nd_emb", threshold: 0.05, brain_key: "nd_model" }))) as NearDuplicatesResult;
    expect(ours.duplicateIds.length).toBeGreaterThan(0);
    const ref = await runPython<{ dups: string[]; model: string; field: string }>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
idx = fob.compute_near_duplicates(ds, embeddings="nd_emb", threshold=0.05)
cfg = ds.get_brain_info("nd_model").config
print(json.dumps({"dups": sorted(idx.duplicate_ids), "model": cfg.model, "field": cfg.embeddings_field}))
`);
    expect([...ours.duplicateIds].sort()).toEqual(ref.dups);
    expect(ref).toMatchObject({ model: "toy_clip", field: "nd_emb" });
  });

  it("leaky splits from a model, from the field it stored and from an index of that field find the same leaks", async () => {
    await runPython(`
import fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
for i, s in enumerate(ds.iter_samples(autosave=True)):
    s.tags = ["test" if i % 2 or s.filepath.endswith("red_copy.png") else "train"]  # red: train, its copy: test
print(1)
`);
    const splits = { split_tags: ["train", "test"], threshold: 0.05 };
    const fromModel = (await executeJob(request("compute_leaky_splits", { ...splits, model: toy.manifestPath, embeddings: "leak_emb" }))) as LeakySplitsResult;
    const fromField = (await executeJob(request("compute_leaky_splits", { ...splits, embeddings: "leak_emb" }))) as LeakySplitsResult;
    await executeJob(request("compute_similarity", { brain_key: "leak_index", embeddings: "leak_emb", backend: "exact" }));
    const fromIndex = (await executeJob(request("compute_leaky_splits", { ...splits, similarity_index: "leak_index", brain_key: "leaks_idx" }))) as LeakySplitsResult;
    expect(fromModel.leakIds.length).toBeGreaterThan(0);
    expect(new Set(fromField.leakIds)).toEqual(new Set(fromModel.leakIds));
    expect(new Set(fromIndex.leakIds)).toEqual(new Set(fromModel.leakIds));
    await expect(executeJob(request("compute_leaky_splits", { ...splits, similarity_index: "leak_index", model: toy.manifestPath }))).rejects.toThrow(/not both/);
  });
});
