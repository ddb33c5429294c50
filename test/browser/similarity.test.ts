import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeJob } from "../../src/runtime/execute";
import { appInChromium, Browser, executeForm, openDataset, openOperator } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython, testDatabase } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_browser_similarity";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-similarity-media-"));

let app: AppServer;
let browser: Browser;
let paths: string[];

appInChromium(async () => {
  // 12 images in four colours; the default model's embeddings go into 'emb'.
  ({ paths } = await runPython<{ paths: string[] }>(`
import json, fiftyone as fo
from PIL import Image, ImageDraw
d = ${JSON.stringify(mediaDir)}
colours = [(220, 30, 30), (30, 200, 40), (30, 60, 220), (240, 240, 240)]
paths = []
for i in range(12):
    p = "%s/img%02d.png" % (d, i)
    im = Image.new("RGB", (96, 96), colours[i % 4])
    ImageDraw.Draw(im).ellipse((10 + i, 10, 60 + i, 70), fill=(i * 20, 0, 0))
    im.save(p)
    paths.append(p)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p) for p in paths])
print(json.dumps({"paths": paths}))
`));
  await executeJob({ method: "compute_embeddings", params: { field: "emb" }, database: testDatabase(), dataset: DATASET });
}, (started) => ({ app, browser } = started));

it("builds an hnswlib index from its form, then sorts the grid by similarity to an image", async () => {
  const { page, shot } = browser;
  await openDataset(page, app.url, DATASET);
  await openOperator(page, "Brain: compute similarity index");
  const modal = page.getByTestId("operators-prompt-modal");
  await modal.getByText("Exact (brute force)").first().waitFor();
  // The backend's sub-form follows the choice.
  await modal.getByText("Exact (brute force)").first().click();
  await page.getByText("hnswlib (approximate)").last().click();
  await modal.getByText("ef construction").waitFor();
  await shot("sim-01-compute-form-hnswlib");
  await executeForm(page, 60_000);
  const run = await runPython<{ runs: string[]; method: string | null; metric: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
info = ds.get_brain_info("similarity")
print(json.dumps({"runs": ds.list_brain_runs(), "method": info.config.method, "metric": info.config.metric}))
`);
  expect(run.runs).toContain("similarity");
  expect(run.metric).toBe("cosine");

  await openOperator(page, "Brain: sort by similarity");
  await modal.getByText("Selected samples").waitFor().catch(async (err) => {
    await shot("sim-02-sort-form-failed");
    throw new Error(`${(err as Error).message}\nThe form shows:\n${await modal.innerText()}`);
  });
  await modal.locator("input[type=radio][value=IMAGE]").check();
  await modal.getByText("…or an image path on the server").waitFor();
  await modal.locator("input[type=string]").first().fill(paths[5]);
  const k = modal.locator("input[type=number]").first();
  await k.fill("4");
  await shot("sim-02-sort-form-image");
  await executeForm(page, 60_000);
  await page.getByTestId("entry-counts").filter({ hasText: /4 of 12 samples|^4 samples/ }).waitFor({ timeout: 60_000 });
  await shot("sim-03-grid-sorted");
  // The grid's view is the ordered result: the query image itself first.
  const ordered = await executeJob({
    method: "sort_by_similarity",
    params: { brain_key: "similarity", image: { path: paths[5] }, k: 4 },
    database: testDatabase(),
    dataset: DATASET,
  }) as { ids: string[]; distances: number[] };
  const first = await runPython<string>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)})[${JSON.stringify(paths[5])}].id))
`);
  expect(ordered.ids[0]).toBe(first);
  expect(ordered.distances[0]).toBeLessThan(1e-4);
});
