import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInChromium, Browser, executeForm, openDataset, openOperator } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_browser_viz";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-browser-viz-"));

let app: AppServer;
let browser: Browser;

appInChromium(async () => {
  // 60 small images in 3 colour classes, with 16-d embeddings in 3 clusters.
  await runPython(`
import json, numpy as np, fiftyone as fo
from PIL import Image
rng = np.random.RandomState(2)
centres = rng.randn(3, 16) * 8
colours = [(220, 60, 60), (60, 200, 60), (60, 60, 220)]
samples = []
for i in range(60):
    p = "%s/img%02d.png" % (${JSON.stringify(mediaDir)}, i)
    Image.new("RGB", (32, 32), colours[i % 3]).save(p)
    samples.append(fo.Sample(filepath=p, colour=["red", "green", "blue"][i % 3]))
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples(samples)
ds.set_values("emb", [centres[i % 3] + rng.randn(16) for i in range(60)])
ds.set_values("gt", [fo.Detections(detections=[fo.Detection(label="box", bounding_box=[0.1, 0.1, 0.5, 0.5], emb=rng.randn(4)) for _ in range(i % 3)]) for i in range(60)])
ds.add_sample_field("gt.detections.emb", fo.VectorField)
print(json.dumps(len(ds)))
`);
}, (started) => ({ app, browser } = started));

describe("compute_visualization in the App", () => {
  it("computes a UMAP from its form, and the App's built-in Embeddings panel plots it", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute visualization");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.getByText("Embeddings field").waitFor();
    await modal.getByText("Neighbours", { exact: true }).waitFor();
    // t-SNE shows its own options instead of UMAP's
    await modal.locator("input[type=radio][value=tsne]").check();
    await modal.getByText("Perplexity", { exact: true }).waitFor();
    await modal.getByText("Neighbours", { exact: true }).waitFor({ state: "detached" });
    await modal.locator("input[type=radio][value=umap]").check();
    await modal.getByText("Neighbours", { exact: true }).waitFor();
    await shot("07a-visualization-form");
    await executeForm(page, 120_000);
    const run = await runPython<{ runs: string[]; n: number; cls: string }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
r = ds.load_brain_results("umap")
print(json.dumps({"runs": ds.list_brain_runs(type="visualization"), "n": len(r.points), "cls": ds.get_brain_info("umap").config.cls}))
`);
    expect(run).toEqual({ runs: ["umap"], n: 60, cls: "fiftyone.brain.visualization.UMAPVisualizationConfig" });

    await openDataset(page, app.url, DATASET);
    await page.getByTestId("new-panel-btn").first().click();
    await page.getByTestId("new-panel-option-Embeddings").click();
    // The built-in panel lists our run as ready (it reads the runs collection) and plots it.
    const entry = page.getByText("umap", { exact: true });
    await entry.waitFor({ timeout: 60_000 });
    await page.getByText("Ready", { exact: true }).waitFor({ timeout: 60_000 });
    await shot("07b-builtin-embeddings-runs");
    await entry.click();
    await page.getByText("60 points", { exact: true }).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000); // the plot's first frame
    await shot("07c-builtin-embeddings-plot");
  });

  it("computes a t-SNE with the automatic learning rate from its form, and our Embeddings panel plots it", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute visualization");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=tsne]").check();
    await modal.getByText("Learning rate", { exact: true }).waitFor();
    await modal.getByText("Automatic learning rate", { exact: true }).click();
    await modal.getByText("Learning rate", { exact: true }).waitFor({ state: "detached" });
    await shot("07f-visualization-tsne-form");
    await executeForm(page, 120_000);
    const run = await runPython<{ n: number; lr: unknown }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({"n": len(ds.load_brain_results("tsne").points), "lr": ds.get_brain_info("tsne").config.learning_rate}))
`);
    expect(run).toEqual({ n: 60, lr: "auto" });

    await openDataset(page, app.url, DATASET);
    await page.getByTestId("new-panel-btn").first().click();
    await page.getByTestId("new-panel-option-brain_ts_embeddings").click();
    const ours = page.getByTestId("brain-ts-embeddings-panel");
    await ours.getByTestId("brain-ts-embeddings-run").selectOption("tsne");
    await ours.getByTestId("brain-ts-embeddings-status").filter({ hasText: /^60 points/ }).waitFor({ timeout: 60_000 });
    await expect(ours.getAttribute("data-points")).resolves.toBe("60");
    await shot("07g-embeddings-panel-tsne");
    // The App keeps the panel in the dataset's layout: closed, so the grid is back for the next forms.
    await page.evaluate(() =>
      (window as unknown as { __foo__: { executeOperator(u: string, p: unknown): void } }).__foo__.executeOperator("close_panel", { name: "brain_ts_embeddings" }),
    );
    await ours.waitFor({ state: "detached" });
  });

  it("computes a PCA of patches from the form", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute visualization");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=pca]").check();
    await modal.getByText("Patches", { exact: true }).click();
    await modal.getByText("Embedding attribute", { exact: true }).waitFor();
    await modal.getByText("Embeddings field", { exact: true }).waitFor({ state: "detached" });
    const attribute = modal.locator("input[type=string]").first();
    await attribute.fill("");
    await modal.getByText(/embedding attribute \(e\.g\. embedding\)/).waitFor();
    await attribute.fill("emb");
    // Text inputs in form order: embedding attribute, points attribute, brain key.
    const points = modal.locator("input[type=string]").nth(1);
    await points.fill("p xy");
    await modal.getByText("Use letters, digits and _ for the points attribute").waitFor();
    await points.fill("pxy");
    await shot("07d-visualization-patches-form");
    await executeForm(page, 120_000);
    const run = await runPython<{ n: number; labels: number; patches: string; stored: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
r = ds.load_brain_results("pca")
print(json.dumps({"n": len(r.points), "labels": len(set(r.label_ids)), "patches": ds.get_brain_info("pca").config.patches_field,
  "stored": sum(1 for ps in ds.values("gt.detections.pxy") for p in (ps or []) if p is not None and len(p) == 2)}))
`);
    expect(run).toEqual({ n: 60, labels: 60, patches: "gt", stored: 60 });
  });

  it("stores a PCA's points in an indexed field when the spatial index is asked for", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute visualization");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=pca]").check();
    await modal.getByText("Spatial index", { exact: true }).click();
    const pointsField = modal.getByText("Points field", { exact: true });
    await pointsField.waitFor();
    // Text inputs in form order: points field, brain key.
    const field = modal.locator("input[type=string]").first();
    await field.fill("emb");
    await modal.getByText("Field 'emb' already exists").waitFor();
    await field.fill("pca_xy");
    await modal.getByText("Field 'emb' already exists").waitFor({ state: "detached" });
    await shot("07e-visualization-spatial-index-form");
    await executeForm(page, 120_000);
    const run = await runPython<{ field: string; spatial: boolean; n: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
key = [k for k in ds.list_brain_runs() if ds.get_brain_info(k).config.points_field and not ds.get_brain_info(k).config.patches_field][0]
r = ds.load_brain_results(key)
print(json.dumps({"field": r.config.points_field, "spatial": r.has_spatial_index, "n": len(ds.exists("pca_xy"))}))
`);
    expect(run).toEqual({ field: "pca_xy", spatial: true, n: 60 });
  });
});
