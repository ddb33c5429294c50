import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Browser, launchBrowser, openDataset } from "../support/browser";
import { AppServer, startAppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_similarity_panel";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-similarity-media-"));

let app: AppServer;
let browser: Browser;
let ids: string[];

beforeAll(async () => {
  // 12 coloured images with unit-length random embeddings: the ranking is the same under
  // cosine and euclidean, and averaging query vectors needs no normalisation first.
  ({ ids } = await runPython<{ ids: string[] }>(`
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
print(json.dumps({"ids": ds.values("id")}))
`));
  app = await startAppServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

interface Reference {
  ids: string[];
  distances: number[];
}

/** The parity reference: fiftyone-brain's own index and sort_by_similarity, removed again after. */
function referenceSort(queryIds: string[], k: number): Promise<Reference> {
  return runPython<Reference>(`
import json, fiftyone as fo, fiftyone.brain as fob
ds = fo.load_dataset(${JSON.stringify(DATASET)})
fob.compute_similarity(ds, embeddings="emb", metric="cosine", brain_key="reference_sim")
view = ds.sort_by_similarity(${JSON.stringify(queryIds)}, k=${k}, brain_key="reference_sim", dist_field="reference_dist")
out = {"ids": view.values("id"), "distances": view.values("reference_dist")}
ds.delete_brain_run("reference_sim")
ds.delete_sample_field("reference_dist")
print(json.dumps(out))
`);
}

async function openSimilarityPanel(): Promise<void> {
  const { page } = browser;
  const panel = page.getByTestId("brain-ts-similarity-panel");
  if (await panel.isVisible()) return;
  await page.getByTestId("new-panel-btn").first().click();
  await page.getByTestId("new-panel-option-brain_ts_similarity").click();
  await panel.waitFor();
}

/** Toggles a sample's checkbox in the grid, as a person clicks it. */
async function toggleGridSample(n: number): Promise<void> {
  await browser.page.getByTestId("fo-grid").getByTestId("looker").nth(n).click({ position: { x: 10, y: 5 } });
}

describe("the Similarity search panel", () => {
  it("offers to build an index when the dataset has none", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openSimilarityPanel();
    const panel = page.getByTestId("brain-ts-similarity-panel");
    await panel.getByText("No similarity index on this dataset yet.").waitFor({ timeout: 30_000 });
    await expect(panel.getByTestId("brain-ts-similarity-new-index").isVisible()).resolves.toBe(true);
    await shot("sim-01-no-index");
  });

  it("queries an index by the grid's selection and shows the nearest samples with distances", async () => {
    const { page, shot } = browser;
    // The index is built by the runtime's job, through the plugin's bridge operator.
    await page.evaluate(
      ([uri]) =>
        new Promise<void>((resolve, reject) => {
          const foo = (window as unknown as { __foo__: { executeOperator(u: string, p: unknown, o: unknown): void } }).__foo__;
          foo.executeOperator(uri, { method: "compute_similarity", params: { brain_key: "sim", embeddings: "emb", metric: "cosine" }, target: "DATASET" }, {
            callback: (r: { error?: unknown; errorMessage?: string }) => (r.error ? reject(new Error(r.errorMessage ?? String(r.error))) : resolve()),
          });
        }),
      ["@brain-ts/brain/run_method"],
    );
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
    const reference = await referenceSort([ids[0], ids[1]], 5);
    expect(shown.map((r) => r.id)).toEqual(reference.ids);
    shown.forEach((r, i) => expect(r.distance).toBeCloseTo(reference.distances[i], 4));
    expect(captions).toEqual(reference.distances.map((d, i) => `#${i + 1} · d = ${d.toFixed(3)}`));
    await expect(panel.getByTestId("brain-ts-similarity-summary").innerText()).resolves.toBe("5 results for 2 selected samples in 'sim'");
  });
});
