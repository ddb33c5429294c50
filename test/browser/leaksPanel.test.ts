import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInChromium, Browser, executeButton, executeForm, openDataset, openOperator } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_leaks_panel";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-leaks-media-"));

let app: AppServer;
let browser: Browser;
/** Cosine distance (centered, as the runtime measures) of each injected leak to its original, ascending. */
let leakDistances: number[];

const tagCounts = () =>
  runPython<Record<string, number>>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).count_sample_tags()))
`);

appInChromium(async () => {
  // 20 train images with random embeddings; 4 test images are copies of train images 1, 5,
  // 9 and 13 with growing noise (the leaks), 6 more test images are unrelated.
  leakDistances = await runPython<number[]>(`
import json, numpy as np, fiftyone as fo
from PIL import Image, ImageDraw
d = ${JSON.stringify(mediaDir)}
rng = np.random.RandomState(3)
emb = list(rng.randn(20, 32))
paths, tags = [], []
def draw(name, i, shift):
    p = "%s/%s.png" % (d, name)
    im = Image.new("RGB", (64, 64), ((37 * i) % 256, (91 * i) % 256, (53 * i + 80) % 256))
    ImageDraw.Draw(im).text((20 + shift, 25), str(i), fill=(255, 255, 255))
    im.save(p)
    return p
for i in range(20):
    paths.append(draw("train%02d" % i, i, 0)); tags.append("train")
sources, noise = [1, 5, 9, 13], [0.02, 0.08, 0.2, 0.35]
for src, s in zip(sources, noise):
    paths.append(draw("leak%02d" % src, src, 2)); tags.append("test")
    emb.append(emb[src] + rng.randn(32) * s)
for k in range(6):
    paths.append(draw("test%02d" % k, 100 + k, 0)); tags.append("test")
    emb.append(rng.randn(32))
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath=p, tags=[t]) for p, t in zip(paths, tags)])
ds.set_values("emb", emb)
E = np.array(emb); E = E - E.mean(axis=0); E = E / np.linalg.norm(E, axis=1, keepdims=True)
print(json.dumps(sorted(float(1 - E[s] @ E[20 + k]) for k, s in enumerate(sources))))
`);
}, (started) => ({ app, browser } = started));

describe("the Leaks panel in a real FiftyOne App", () => {
  it("has injected leaks the default threshold finds and the slider can separate", () => {
    expect(leakDistances).toHaveLength(4);
    expect(leakDistances[3]).toBeLessThan(0.2);
    expect(leakDistances[2] - leakDistances[1]).toBeGreaterThan(0.005);
  });

  it("checks the leaks form before Execute, then records a run", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find leaks between splits");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    const tags = modal.locator("input[type=string]").first();
    await tags.fill("train, train");
    await modal.getByText(/'train' is given more than once/).waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await tags.fill("train, test");
    await modal.getByText(/given more than once/).waitFor({ state: "detached" });
    const threshold = modal.locator("input[type=number]").first();
    await threshold.fill("1.5");
    await modal.getByText(/most samples will be duplicates/).waitFor();
    await threshold.fill("0");
    await modal.getByText(/must be a positive distance/).waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await threshold.fill("0.2");
    await modal.getByText(/must be a positive distance/).waitFor({ state: "detached" });
    await shot("leaks-01-form");
    await executeForm(page, 60_000);
    // "Then: show the leaks": 4 train originals and their 4 test copies.
    await page.getByTestId("entry-counts").filter({ hasText: /8 of 30 samples|^8 samples/ }).waitFor({ timeout: 60_000 });
    const runs = await runPython<string[]>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).list_brain_runs()))
`);
    expect(runs).toContain("leaks");
  });

  it("browses the pairs side by side, regroups with the slider, tags leaks and opens a split without them", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await page.getByTestId("new-panel-btn").first().click();
    await page.getByTestId("new-panel-option-brain_ts_leaks").click();
    const panel = page.getByTestId("brain-ts-leaks-panel");
    await panel.waitFor();
    const count = panel.getByTestId("brain-ts-leak-count");
    await count.filter({ hasText: "4 pairs, 8 leaking samples" }).waitFor({ timeout: 30_000 });
    const pairs = panel.getByTestId("brain-ts-leak-pair");
    expect(await pairs.count()).toBe(4);
    // Each pair: a train thumbnail, the distance, a test thumbnail; closest first.
    await expect(pairs.first().innerText()).resolves.toMatch(new RegExp(`train[\\s\\S]*d = ${leakDistances[0].toPrecision(3)}[\\s\\S]*test`));
    await page.waitForFunction(
      () => [...document.querySelectorAll("[data-cy=brain-ts-leak-pair] img")].every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
      null,
      { timeout: 30_000 },
    );
    await shot("leaks-02-panel");

    // Between the 2nd and 3rd leak's distances only the two closest pairs remain.
    const slider = panel.getByTestId("brain-ts-leak-threshold");
    await slider.fill(String((leakDistances[1] + leakDistances[2]) / 2));
    await count.filter({ hasText: "2 pairs, 4 leaking samples" }).waitFor();
    await shot("leaks-03-slider");
    await slider.fill("0.2");
    await count.filter({ hasText: "4 pairs, 8 leaking samples" }).waitFor();

    await panel.getByTestId("brain-ts-tag-leaks").click();
    await panel.getByTestId("brain-ts-leak-notice").filter({ hasText: "Tagged 8 samples 'leak'" }).waitFor();
    expect(await tagCounts()).toMatchObject({ leak: 8, train: 20, test: 10 });

    // The train split without its leaks: 20 − 4 samples.
    await panel.getByTestId("brain-ts-no-leaks").filter({ hasText: "train" }).click();
    await page.getByTestId("entry-counts").filter({ hasText: /16 of 30 samples|^16 samples/ }).waitFor({ timeout: 30_000 });
    await shot("leaks-04-no-leaks-train");
  });

  it("finds unique samples from the form, refusing a count of 0", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find unique samples");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    const count = modal.locator("input[type=number]").first();
    await count.fill("0");
    await modal.getByText(/whole number ≥ 1/).waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await count.fill("26");
    await modal.getByText(/whole number ≥ 1/).waitFor({ state: "detached" });
    await shot("leaks-05-find-unique-form");
    await executeForm(page, 60_000);
    // The 4 leaked copies are the closest pairs: 26 unique samples are the rest.
    await page.getByTestId("entry-counts").filter({ hasText: /26 of 30 samples|^26 samples/ }).waitFor({ timeout: 60_000 });
    await shot("leaks-06-unique-in-grid");
  });
});
