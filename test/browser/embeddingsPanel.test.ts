import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { appInChromium, Browser, openDataset } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_embeddings_panel";
const EMPTY = "brain_ts_embeddings_none";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-embeddings-media-"));

let app: AppServer;
let browser: Browser;
/** Sample ids of each of the three clusters the manual points form. */
let clusters: string[][];

appInChromium(async () => {
  // 60 images in three well separated clusters of 20 points (a manual visualization run,
  // as Python's fiftyone-brain stores it); the clusters are the classes cat, dog, bird.
  ({ clusters } = await runPython<{ clusters: string[][] }>(`
import json, numpy as np, fiftyone as fo, fiftyone.brain as fob
from PIL import Image, ImageDraw
rng = np.random.RandomState(1)
d = ${JSON.stringify(mediaDir)}
names = ["cat", "dog", "bird"]
centers = np.array([[-5.0, -4.0], [5.0, -4.0], [0.0, 5.0]])
samples, points = [], []
for i in range(60):
    c = i % 3
    p = "%s/img%02d.png" % (d, i)
    im = Image.new("RGB", (64, 64), [(200, 60, 40), (40, 160, 60), (40, 80, 200)][c])
    ImageDraw.Draw(im).text((22, 25), str(i), fill=(255, 255, 255))
    im.save(p)
    samples.append(fo.Sample(filepath=p, cls=fo.Classification(label=names[c]), score=float(i)))
    points.append(centers[c] + rng.randn(2) * 0.6)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
ds.add_samples(samples)
fob.compute_visualization(ds, points=np.array(points), method="manual", brain_key="viz")
ids = ds.values("id")
empty = fo.Dataset(${JSON.stringify(EMPTY)}, overwrite=True)
empty.persistent = True
empty.add_samples([fo.Sample(filepath=samples[0].filepath)])
print(json.dumps({"clusters": [[ids[i] for i in range(c, 60, 3)] for c in range(3)]}))
`));
}, (started) => ({ app, browser } = started));

const panel = (page: Page) => page.getByTestId("brain-ts-embeddings-panel");

async function openPanel(page: Page): Promise<void> {
  await page.getByTestId("new-panel-btn").first().click();
  await page.getByTestId("new-panel-option-brain_ts_embeddings").click();
  await panel(page).waitFor();
}

/** Screen rectangle (page coordinates) around the points of these ids, from the plot itself. */
async function boundsOf(page: Page, ids: string[]): Promise<{ x0: number; y0: number; x1: number; y1: number }> {
  const canvas = await page.getByTestId("brain-ts-embeddings-canvas").boundingBox();
  const local = await page.evaluate((wanted) => {
    const probe = window.__brainTsEmbeddings!;
    const xs: number[] = [];
    const ys: number[] = [];
    for (const id of wanted) {
      const [x, y] = probe.scatterplot!.getScreenPosition(probe.plot!.indexById.get(id)!)!;
      xs.push(x);
      ys.push(y);
    }
    return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
  }, ids);
  return { x0: canvas!.x + local.x0, y0: canvas!.y + local.y0, x1: canvas!.x + local.x1, y1: canvas!.y + local.y1 };
}

/** Picks a mode and waits until the plot has switched (settings apply on the next frame). */
async function setMode(page: Page, mode: "pan" | "lasso" | "box"): Promise<void> {
  await panel(page).getByTestId(`brain-ts-embeddings-mode-${mode}`).click();
  await page.waitForFunction(
    ([mouseMode, lassoType]) => {
      const sp = window.__brainTsEmbeddings!.scatterplot!;
      return sp.get("mouseMode") === mouseMode && (mouseMode === "panZoom" || (sp.get as (k: string) => unknown)("lassoType") === lassoType);
    },
    [mode === "pan" ? "panZoom" : "lasso", mode === "box" ? "rectangle" : "freeform"] as const,
  );
}

const selectedIds = (page: Page) => page.evaluate(() => [...window.__brainTsEmbeddings!.selectedIds].sort());

/**
 * The samples the grid's view holds now (the App's view, filters and extended selection),
 * asked of the runtime through the bridge with the App's own current-view target.
 */
function gridSampleIds(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const foo = (window as unknown as { __foo__: { executeOperator: (uri: string, p: unknown, o: unknown) => void } }).__foo__;
        foo.executeOperator(
          "@brain-ts/brain/run_method",
          { method: "get_visualization", params: { brain_key: "viz" }, target: "CURRENT_VIEW", delegate: false },
          {
            skipOutput: true,
            callback: (r: { error?: unknown; result?: { result: { ids: string } } }) => {
              if (r.error || !r.result) return reject(new Error(String(r.error)));
              const bin = atob(r.result.result.ids);
              const ids: string[] = [];
              for (let i = 0; i < bin.length; i += 12) {
                ids.push([...bin.slice(i, i + 12)].map((ch) => ch.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
              }
              resolve(ids.sort());
            },
          },
        );
      }),
  );
}

async function waitForGridCount(page: Page, n: number): Promise<void> {
  await page.getByTestId("entry-counts").filter({ hasText: new RegExp(`^${n} of 60 samples?$|^${n} samples?$`) }).waitFor({ timeout: 30_000 });
}

describe("the Embeddings panel in a real FiftyOne App", () => {
  it("draws the points of a fiftyone-brain visualization run", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openPanel(page);
    await page.waitForFunction(() => window.__brainTsEmbeddings?.firstDrawMs != null, null, { timeout: 60_000 });
    await expect(panel(page).getAttribute("data-points")).resolves.toBe("60");
    await expect(panel(page).getByTestId("brain-ts-embeddings-status").innerText()).resolves.toMatch(/^60 points/);
    await shot("embeddings-01-points");
    // WebGL really drew: the canvas holds orange points on a transparent background.
    const drawn = await page.evaluate(() => {
      const canvas = document.querySelector("[data-cy=brain-ts-embeddings-canvas] canvas") as HTMLCanvasElement;
      const copy = document.createElement("canvas");
      copy.width = canvas.width;
      copy.height = canvas.height;
      const g = copy.getContext("2d")!;
      window.__brainTsEmbeddings!.scatterplot!.redraw();
      g.drawImage(canvas, 0, 0);
      const px = g.getImageData(0, 0, copy.width, copy.height).data;
      let lit = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && px[i] > 150) lit++;
      return lit;
    });
    expect(drawn).toBeGreaterThan(60);
  });

  it("box-selects a cluster and the grid shows exactly its samples; clearing restores the grid", async () => {
    const { page, shot } = browser;
    const b = await boundsOf(page, clusters[0]);
    await setMode(page, "box");
    await page.mouse.move(b.x0 - 15, b.y0 - 15);
    await page.mouse.down();
    await page.mouse.move((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2, { steps: 5 });
    await page.mouse.move(b.x1 + 15, b.y1 + 15, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__brainTsEmbeddings!.selectedIds.length > 0);
    await expect(selectedIds(page)).resolves.toEqual([...clusters[0]].sort());
    await waitForGridCount(page, 20);
    await expect(gridSampleIds(page)).resolves.toEqual([...clusters[0]].sort());
    await shot("embeddings-02-box-selected");

    await panel(page).getByTestId("brain-ts-embeddings-clear").click();
    await waitForGridCount(page, 60);
  });

  it("lassoes another cluster, and a click selects one point", async () => {
    const { page, shot } = browser;
    const b = await boundsOf(page, clusters[2]);
    const cx = (b.x0 + b.x1) / 2;
    const cy = (b.y0 + b.y1) / 2;
    const r = Math.max(b.x1 - b.x0, b.y1 - b.y0) / 2 + 20;
    await setMode(page, "lasso");
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    for (let k = 1; k <= 24; k++) await page.mouse.move(cx + r * Math.cos((k * Math.PI) / 12), cy + r * Math.sin((k * Math.PI) / 12), { steps: 2 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__brainTsEmbeddings!.selectedIds.length > 0);
    await expect(selectedIds(page)).resolves.toEqual([...clusters[2]].sort());
    await waitForGridCount(page, 20);
    await expect(gridSampleIds(page)).resolves.toEqual([...clusters[2]].sort());
    await shot("embeddings-03-lasso-selected");

    await setMode(page, "pan");
    const p = await boundsOf(page, [clusters[1][0]]);
    await page.mouse.click(p.x0, p.y0);
    await page.waitForFunction(() => window.__brainTsEmbeddings!.selectedIds.length === 1);
    await expect(selectedIds(page)).resolves.toEqual([clusters[1][0]]);
    await waitForGridCount(page, 1);
    await expect(gridSampleIds(page)).resolves.toEqual([clusters[1][0]]);
    await panel(page).getByTestId("brain-ts-embeddings-clear").click();
    await waitForGridCount(page, 60);
  });

  it("highlights the samples selected in the grid, and hovering shows a thumbnail", async () => {
    const { page, shot } = browser;
    const wanted = clusters[1].slice(0, 3);
    await page.evaluate((ids) => {
      (window as unknown as { __foo__: { executeOperator: (uri: string, p: unknown) => void } }).__foo__.executeOperator("set_selected_samples", { samples: ids });
    }, wanted);
    await page.waitForFunction((n) => (window.__brainTsEmbeddings!.scatterplot!.get("selectedPoints") as number[]).length === n, wanted.length);
    const highlighted = await page.evaluate(() => {
      const probe = window.__brainTsEmbeddings!;
      return (probe.scatterplot!.get("selectedPoints") as number[]).map((i) => probe.plot!.ids[i]).sort();
    });
    expect(highlighted).toEqual([...wanted].sort());
    await shot("embeddings-04-grid-selection-highlighted");
    await page.evaluate(() => (window as unknown as { __foo__: { executeOperator: (uri: string) => void } }).__foo__.executeOperator("clear_selected_samples"));

    const p = await boundsOf(page, [clusters[0][3]]);
    await page.mouse.move(p.x0 - 30, p.y0 - 30);
    await page.mouse.move(p.x0, p.y0, { steps: 4 });
    const hover = panel(page).getByTestId("brain-ts-embeddings-hover");
    await hover.waitFor({ timeout: 20_000 });
    await hover.locator("img").waitFor({ timeout: 30_000 }); // the preview comes through the bridge
    await expect(hover.locator("img").getAttribute("src")).resolves.toMatch(/^\/media\?filepath=.*img09\.png$/);
    await page.waitForFunction(() => {
      const img = document.querySelector("[data-cy=brain-ts-embeddings-hover] img") as HTMLImageElement | null;
      return Boolean(img && img.complete && img.naturalWidth > 0);
    });
    await shot("embeddings-05-hover");
  });

  it("colours by a label field with a legend whose entries hide their class", async () => {
    const { page, shot } = browser;
    await page.mouse.move(5, 5);
    await panel(page).getByTestId("brain-ts-embeddings-color-by").selectOption("cls.label");
    const entries = panel(page).getByTestId("brain-ts-embeddings-legend-entry");
    await entries.first().waitFor({ timeout: 30_000 });
    await expect(entries.allInnerTexts()).resolves.toEqual(["bird\n20", "cat\n20", "dog\n20"]);
    await page.waitForFunction(() => window.__brainTsEmbeddings!.plot?.colorBy === "cls.label");
    await shot("embeddings-06-colored-by-label");

    await entries.filter({ hasText: "bird" }).click();
    await expect(entries.filter({ hasText: "bird" }).getAttribute("data-hidden")).resolves.toBe("true");
    await page.waitForFunction(() => (window.__brainTsEmbeddings!.scatterplot!.get("filteredPoints") as number[]).length === 40);
    const shown = await page.evaluate(() => {
      const probe = window.__brainTsEmbeddings!;
      return (probe.scatterplot!.get("filteredPoints") as number[]).map((i) => probe.plot!.ids[i]);
    });
    expect(new Set(shown)).toEqual(new Set([...clusters[0], ...clusters[1]]));
    await shot("embeddings-07-class-hidden");

    // A continuous field gets a colour bar.
    await panel(page).getByTestId("brain-ts-embeddings-color-by").selectOption("score");
    await panel(page).getByTestId("brain-ts-embeddings-colorbar").waitFor({ timeout: 30_000 });
    await expect(panel(page).getByTestId("brain-ts-embeddings-colorbar").innerText()).resolves.toMatch(/0\.00[\s\S]*score[\s\S]*59\.0/);
  });

  it("offers the compute form when the dataset has no visualization run", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, EMPTY);
    if (!(await panel(page).isVisible())) await openPanel(page);
    await panel(page).getByTestId("brain-ts-compute-visualization").waitFor();
    await shot("embeddings-08-no-run");
  });
});
