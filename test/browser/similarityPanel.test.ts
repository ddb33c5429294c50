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

describe("the Similarity search panel", () => {
  it("explore", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    const grid = page.getByTestId("fo-grid");
    await grid.getByTestId("looker").nth(0).click({ position: { x: 10, y: 5 } });
    await grid.getByTestId("looker").nth(1).click({ position: { x: 10, y: 5 } });
    await page.waitForTimeout(3000);
    await shot("sim-00-explore");
    console.log(await page.evaluate(() => [...document.querySelectorAll("[title]")].map((e) => e.getAttribute("title") + " | " + e.tagName + " | " + e.getAttribute("data-cy")).join("\n")));
    console.log(await page.evaluate(() => [...document.querySelectorAll("[data-cy]")].map((e) => e.getAttribute("data-cy")).filter((x) => !x!.startsWith("looker")).join(" ")));
  });
});
