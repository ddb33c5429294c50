import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDatabases } from "../../src/fiftyone/database";
import { executeJob, JobRequest } from "../../src/runtime/execute";
import { SortBySimilarityResult } from "../../src/runtime/jobs/similarity";
import { runPython, testDatabase } from "../support/fiftyone";
import { writeToyClip } from "../support/toyClip";

jest.setTimeout(180_000);

// An index built with an image+text model: its embeddings are computed by the model and
// stored in the field, the run records the model, and text prompts and image queries are
// embedded by that same model.
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
colours = {"red": (230, 40, 30), "green": (20, 210, 60), "blue": (40, 30, 220), "darkred": (150, 20, 20)}
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
