import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInChromium, Browser, executeButton, executeForm, openDataset, openOperator } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

/** The near-duplicates form on a similarity index made by fiftyone-brain, with the duplicates view's fields. */
const DATASET = "brain_ts_near_dups_index_form";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-ndi-media-"));

let app: AppServer;
let browser: Browser;

appInChromium(async () => {
  // 16 images with random embeddings and 4 near copies of images 0, 4, 8 and 12; the
  // reference indexes them (sklearn, cosine) as 'sim'.
  await runPython(`
import numpy as np, fiftyone as fo, fiftyone.brain as fob
from PIL import Image
d = ${JSON.stringify(mediaDir)}
rng = np.random.RandomState(7)
emb = list(rng.randn(16, 32))
emb += [emb[i] + rng.randn(32) * 0.02 for i in (0, 4, 8, 12)]
paths = []
for i in range(len(emb)):
    p = "%s/s%02d.png" % (d, i)
    Image.new("RGB", (48, 48), ((41 * i) % 256, (97 * i) % 256, 120)).save(p)
    paths.append(p)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p) for p in paths])
ds.set_values("emb", emb)
fob.compute_similarity(ds, embeddings="emb", backend="sklearn", brain_key="sim")
print("null")
`);
}, (started) => ({ app, browser } = started));

describe("the near-duplicates form on a similarity index", () => {
  it("offers the dataset's index, checks the field names before Execute, and writes the fields", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find near duplicates");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    await modal.locator("input[type=radio][value=INDEX]").check();
    await modal.getByText("Similarity index", { exact: true }).first().waitFor();
    // Text inputs in form order: brain key, type field, nearest id field, distance field.
    const texts = modal.locator("input[type=string]");
    await texts.nth(1).fill("emb");
    await modal.getByText("Field 'emb' already exists").waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await texts.nth(1).fill("dup_type");
    await texts.nth(3).fill("dup_type");
    await modal.getByText("'dup_type' is already the type field").waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await texts.nth(2).fill("dup_nearest");
    await texts.nth(3).fill("dup_dist");
    await modal.getByText(/is already the type field/).waitFor({ state: "detached" });
    await shot("near-duplicates-index-form");
    await executeForm(page, 60_000);
    // "Then: show the duplicates": the 4 kept originals and their 4 copies.
    await page.getByTestId("entry-counts").filter({ hasText: /8 of 20 samples|^8 samples/ }).waitFor({ timeout: 60_000 });
    await shot("near-duplicates-index-grid");
    const stored = await runPython<{ runs: string[]; config: Record<string, unknown>; types: Record<string, number>; schema: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
schema = ds.get_field_schema()
print(json.dumps({"runs": ds.list_brain_runs(), "config": ds.get_brain_info("near_duplicates").config.serialize(),
  "types": ds.count_values("dup_type"), "schema": [f for f in ["dup_type", "dup_nearest", "dup_dist"] if f in schema]}))
`);
    expect(stored.runs).toEqual(["near_duplicates", "sim"]);
    expect(stored.config).toMatchObject({ similarity_index: "sim", type_field: "dup_type", id_field: "dup_nearest", dist_field: "dup_dist" });
    expect(stored.types).toEqual({ nearest: 4, duplicate: 4, null: 12 });
    expect(stored.schema).toEqual(["dup_type", "dup_nearest", "dup_dist"]);
  });

  it("embeds the images with the default model when chosen, stores the vectors in the field named, and searches as chosen", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find near duplicates");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    await modal.locator("input[type=radio][value=MODEL]").check();
    // Text inputs in form order: the field to store into, brain key, type, nearest id, distance fields.
    const store = modal.locator("input[type=string]").first();
    await store.fill("emb");
    await modal.getByText("Field 'emb' already exists").waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await store.fill("model_emb");
    await modal.getByText("Field 'emb' already exists").waitFor({ state: "detached" });
    await modal.locator("input[type=radio][value=hnswlib]").check();
    await shot("near-duplicates-model-form");
    await executeForm(page, 120_000);
    const stored = await runPython<{ model: string; field: string; search: string; dims: number[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
key = [k for k in ds.list_brain_runs() if k not in ("near_duplicates", "sim")][0]
cfg = ds.get_brain_info(key).config
print(json.dumps({"model": cfg.model, "field": cfg.embeddings_field, "search": cfg.neighbor_search, "dims": sorted(set(len(v) for v in ds.values("model_emb")))}))
`);
    expect(stored).toEqual({ model: "mobilenet_v2_nsfwjs", field: "model_emb", search: "hnswlib", dims: [1280] });
  });
});
