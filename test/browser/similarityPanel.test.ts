import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInChromium, Browser, executeForm, openDataset } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_similarity_panel";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-similarity-media-"));

let app: AppServer;
let browser: Browser;
let ids: string[];
/** fiftyone-brain's own sort_by_similarity for the queries the test makes (cosine, mean of the query ids). */
let reference: { selection: Reference; gridButton: Reference };

interface Reference {
  ids: string[];
  distances: number[];
}

appInChromium(async () => {
  // 12 coloured images with unit-length random embeddings: the ranking is the same under
  // cosine and euclidean, and averaging query vectors needs no normalisation first.
  ({ ids, reference } = await runPython<{ ids: string[]; reference: typeof reference }>(`
import json, numpy as np, fiftyone as fo
from PIL import Image, ImageDraw
d = ${JSON.stringify(mediaDir)}
paths = []
for i in range(12):
    p = "%s/img%02d.png" % (d, i)
    im = Image.new("RGB", (64, 64), (20 * i % 256, 120, 220 - 15 * i))
    ImageDraw.Draw(im).text((24, 25), str(i), fill=(255, 255, 255))
    im.save(p)
    paths.append(p)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p) for p in paths])
rng = np.random.RandomState(4)
emb = rng.randn(12, 16)
emb /= np.linalg.norm(emb, axis=1, keepdims=True)
ds.set_values("emb", list(emb))
ids = ds.values("id")
# The parity reference, computed by fiftyone-brain then removed again.
import fiftyone.brain as fob
fob.compute_similarity(ds, embeddings="emb", metric="cosine", brain_key="reference_sim")
def ref(query, k):
    view = ds.sort_by_similarity(query, k=k, brain_key="reference_sim", dist_field="reference_dist")
    return {"ids": view.values("id"), "distances": view.values("reference_dist")}
out = {"ids": ids, "reference": {"selection": ref([ids[0], ids[1]], 5), "gridButton": ref([ids[2], ids[5]], 12)}}
ds.delete_brain_run("reference_sim")
ds.delete_sample_field("reference_dist")
print(json.dumps(out))
`));
}, (started) => ({ app, browser } = started));

interface Reference {
  ids: string[];
  distances: number[];
}

async function openSimilarityPanel(): Promise<void> {
  const { page } = browser;
  const panel = page.getByTestId("brain-ts-similarity-panel");
  if (await panel.isVisible()) return;
  await page.getByTestId("new-panel-btn").first().click();
  await page.getByTestId("new-panel-option-brain_ts_similarity").click();
  await panel.waitFor();
}

/** Runs a runtime method through the plugin's bridge operator, as the App's forms do, then reloads the dataset. */
async function runMethod(method: string, params: Record<string, unknown>): Promise<void> {
  await browser.page.evaluate(
    ([uri, method, params]) =>
      new Promise<void>((resolve, reject) => {
        const foo = (window as unknown as { __foo__: { executeOperator(u: string, p?: unknown, o?: unknown): void } }).__foo__;
        foo.executeOperator(uri as string, { method, params, target: "DATASET" }, {
          callback: (r: { error?: unknown; errorMessage?: string }) => {
            if (r.error) return reject(new Error(r.errorMessage ?? String(r.error)));
            foo.executeOperator("reload_dataset");
            resolve();
          },
        });
      }),
    ["@brain-ts/brain/run_method", method, params] as const,
  );
}

/** The distances the grid's tiles show, in grid order (each tile's tag has the full value in its title). */
function tileDistances(): Promise<number[]> {
  return browser.page
    .getByTestId("fo-grid")
    .getByTestId("tag-similarity_distance")
    .evaluateAll((els) => els.map((e) => Number((e.getAttribute("title") ?? "").replace("similarity_distance: ", ""))));
}

/** Waits until the grid's tiles show these distances in this order; fails with what they show. */
async function expectTileDistances(expected: number[]): Promise<void> {
  const matches = (shown: number[]) => shown.length === expected.length && shown.every((d, i) => Math.abs(d - expected[i]) < 1e-4);
  const deadline = Date.now() + 30_000;
  let shown = await tileDistances();
  while (!matches(shown) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    shown = await tileDistances();
  }
  expect(shown).toEqual(expected.map((d) => expect.closeTo(d, 4)));
}

/** Toggles a sample's checkbox in the grid, as a person clicks it. */
async function toggleGridSample(n: number): Promise<void> {
  await browser.page.getByTestId("fo-grid").getByTestId("looker").nth(n).click({ position: { x: 10, y: 5 } });
}

describe("the Similarity search panel", () => {
  it("offers to build an index when the dataset has none, through the index form", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openSimilarityPanel();
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByText("No similarity index on this dataset yet.").waitFor({ timeout: 30_000 });
    await shot("sim-01-no-index");
    await panel.getByTestId("brain-ts-similarity-new-index").click();
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.getByText("Embeddings field").first().waitFor();
    await shot("sim-01b-index-form");
    await executeForm(page, 60_000);
    // The form reloads the dataset; the panel lists the new index.
    await panel.getByTestId("brain-ts-similarity-index-info").filter({ hasText: "exact · cosine · 12 vectors · 16-d · field emb" }).waitFor({ timeout: 30_000 });
  });

  it("queries an index by the grid's selection and shows the nearest samples with distances", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await toggleGridSample(0);
    await toggleGridSample(1);
    await openSimilarityPanel();
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByTestId("brain-ts-similarity-index-info").filter({ hasText: "exact · cosine · 12 vectors" }).waitFor({ timeout: 30_000 });
    await panel.getByTestId("brain-ts-similarity-selection").filter({ hasText: "2 samples selected in the grid" }).waitFor();
    await panel.getByTestId("brain-ts-similarity-k").fill("5");
    await panel.getByTestId("brain-ts-similarity-search").click();
    const results = panel.getByTestId("brain-ts-similarity-result");
    await results.first().waitFor({ timeout: 30_000 });
    await page.waitForFunction(() =>
      [...document.querySelectorAll("[data-cy=brain-ts-similarity-result] img")].every((i) => (i as HTMLImageElement).naturalWidth > 0),
    );
    await shot("sim-02-selection-results");

    const shown = await results.evaluateAll((els) => els.map((e) => ({ id: e.getAttribute("data-id")!, distance: Number(e.getAttribute("data-distance")) })));
    const captions = await results.locator("figcaption").allInnerTexts();
    const expected = reference.selection;
    expect(shown.map((r) => r.id)).toEqual(expected.ids);
    expect(expected.ids).toEqual(expect.arrayContaining([ids[0], ids[1]])); // the selected samples are among their own neighbours
    shown.forEach((r, i) => expect(r.distance).toBeCloseTo(expected.distances[i], 4));
    expect(captions).toEqual(expected.distances.map((d, i) => `#${i + 1} · d = ${d.toFixed(3)}`));
    await expect(panel.getByTestId("brain-ts-similarity-summary").innerText()).resolves.toBe("5 results for 2 selected samples in 'similarity'");
  });

  it("shows the results in the grid in order, with their distances on the tiles", async () => {
    const { page, shot } = browser;
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByTestId("brain-ts-similarity-show").click();
    await panel.getByTestId("brain-ts-similarity-notice").filter({ hasText: "5 samples in the grid, nearest first; distances in 'similarity_distance'" }).waitFor({ timeout: 30_000 });
    await page.getByTestId("entry-counts").filter({ hasText: /5 of 12 samples|^5 samples/ }).waitFor({ timeout: 30_000 });
    const expected = reference.selection;
    await expectTileDistances(expected.distances);
    await shot("sim-03-show-in-grid");
    // The distances are a real float field, written for exactly the results.
    const written = await runPython<Record<string, number>>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
print(json.dumps({i: d for i, d in zip(ds.values("id"), ds.values("similarity_distance")) if d is not None}))
`);
    expect(Object.keys(written).sort()).toEqual([...expected.ids].sort());
    expected.ids.forEach((id, i) => expect(written[id]).toBeCloseTo(expected.distances[i], 4));
  });

  it("says why an index without a prompt model cannot be searched by text", async () => {
    const { page } = browser;
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByTestId("brain-ts-similarity-mode-text").click();
    await panel.getByTestId("brain-ts-similarity-reason").filter({ hasText: "Index 'similarity' was built from the embeddings field 'emb' (no model), which cannot embed text" }).waitFor();
    expect(await panel.getByTestId("brain-ts-similarity-search").isDisabled()).toBe(true);
    await browser.shot("sim-04-text-unavailable");
    await panel.getByTestId("brain-ts-similarity-mode-selection").click();
  });

  it("adds a Sort by similarity button to the grid while samples are selected, which sorts by the newest index", async () => {
    const { page, shot } = browser;
    // A whole grid again, without the panel beside it (narrow grids fold their actions away).
    await page.getByTestId("btn-clear-view-bar").click();
    await page.getByTestId("entry-counts").filter({ hasText: /^12 samples/ }).waitFor({ timeout: 30_000 });
    await page.evaluate(() =>
      (window as unknown as { __foo__: { executeOperator(u: string, p: unknown): void } }).__foo__.executeOperator("close_panel", { name: "brain_ts_similarity" }),
    );
    await page.getByTestId("brain-ts-similarity-panel").waitFor({ state: "detached" });
    await shot("sim-05-before-selection");
    const actions = page.getByTestId("fo-grid-actions");
    const button = actions.getByText("Sort by similarity", { exact: true });
    expect(await button.count()).toBe(0);
    await toggleGridSample(2);
    await toggleGridSample(5);
    await button.waitFor({ timeout: 15_000 });
    await shot("sim-06-grid-button");
    await button.click();
    await page.getByTestId("entry-counts").filter({ hasText: /12 of 12 samples|^12 samples/ }).waitFor({ timeout: 30_000 });
    await expectTileDistances(reference.gridButton.distances);
    await shot("sim-07-grid-button-result");
  });

  it("queries by an uploaded image, embedded with the default model", async () => {
    const { page, shot } = browser;
    // An index of the default model's embeddings, both computed by the runtime's jobs.
    await runMethod("compute_embeddings", { embeddings_field: "model_emb" });
    await runMethod("compute_similarity", { brain_key: "image_sim", embeddings: "model_emb", metric: "cosine" });
    const expected = await runPython<Reference>(`
import json, numpy as np, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
E = np.stack(ds.values("model_emb")).astype(np.float64)
q = E[3]
d = 1 - E @ q / (np.linalg.norm(E, axis=1) * np.linalg.norm(q))
order = np.argsort(d, kind="stable")[:4]
ids = ds.values("id")
print(json.dumps({"ids": [ids[i] for i in order], "distances": [float(d[i]) for i in order]}))
`);
    await openDataset(page, app.url, DATASET);
    await openSimilarityPanel();
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByTestId("brain-ts-similarity-index").locator("option[value=image_sim]").waitFor({ state: "attached", timeout: 30_000 });
    await panel.getByTestId("brain-ts-similarity-index").selectOption("image_sim");
    await panel.getByTestId("brain-ts-similarity-mode-image").click();
    await panel.getByTestId("brain-ts-similarity-image").setInputFiles(join(mediaDir, "img03.png"));
    await panel.getByTestId("brain-ts-similarity-k").fill("4");
    await panel.getByTestId("brain-ts-similarity-search").click();
    await panel.getByTestId("brain-ts-similarity-summary").filter({ hasText: "4 results for image img03.png in 'image_sim'" }).waitFor({ timeout: 60_000 });
    const results = panel.getByTestId("brain-ts-similarity-result");
    const shown = await results.evaluateAll((els) => els.map((e) => ({ id: e.getAttribute("data-id")!, distance: Number(e.getAttribute("data-distance")) })));
    await shot("sim-08-image-query");
    expect(shown[0].id).toBe(ids[3]); // the uploaded file is sample 3's image
    expect(shown[0].distance).toBeCloseTo(0, 4);
    // Samples 5 and 4 are nearly tied: float32 (runtime) and float64 (numpy) may order them
    // either way, so the rest is compared as a set, distances rank by rank.
    expect(shown.slice(0, 2).map((r) => r.id)).toEqual(expected.ids.slice(0, 2));
    expect(new Set(shown.map((r) => r.id))).toEqual(new Set(expected.ids));
    shown.forEach((r, i) => expect(r.distance).toBeCloseTo(expected.distances[i], 3));
  });
});
