import { execFileSync } from "node:child_process";
import type { Page } from "playwright-core";
import { launchBrowser, openDataset } from "../test/support/browser";
import { startAppServer } from "../test/support/appServer";
import { BenchContext } from "./context";

/**
 * The Embeddings panel with many points, in headless Chromium (software WebGL) against a
 * real App server: time from opening the panel to the points drawn, frame times while
 * panning, and lasso-to-grid latency (mouse released → the grid's count shows the
 * selection). Python's fiftyone-brain has no panel of its own to compare with; the App's
 * built-in panel is plotly-based and is not driven here.
 */
/** The panel's window probe (panels/embeddings/EmbeddingsPanel.tsx), as far as the bench reads it. */
interface Probe {
  scatterplot: {
    getScreenPosition(i: number): [number, number] | undefined;
    subscribe(event: string, handler: () => void): void;
    zoomToOrigin(options: { transition: boolean }): void;
  } | null;
  plot: { count: number } | null;
  firstDrawMs: number | null;
  drawMs: number | null;
  queryMs: number | null;
  decodeMs: number | null;
  selectedIds: string[];
}
type W = { __brainTsEmbeddings?: Probe };

export interface PanelFigures {
  points: number;
  /** Panel opened → points drawn (includes the runtime query and transfer). */
  openToDrawMs: number;
  /** Run requested → points drawn, as the panel measures it. */
  firstDrawMs: number;
  /** One draw of all points by regl-scatterplot. */
  drawMs: number;
  /** Run requested → the runtime's answer in the page (App → Python bridge → runtime and back). */
  queryMs: number;
  decodeMs: number;
  panFrameMedianMs: number;
  panFrameP95Ms: number;
  panFrames: number;
  lassoSelected: number;
  lassoToGridMs: number;
  payloadMb: number;
}

export async function benchEmbeddingsPanel(ctx: BenchContext, n: number): Promise<PanelFigures> {
  const name = `bench_embeddings_panel_${n}`;
  // n samples (paths only: hover is not measured) in 10 clusters, a manual run as fiftyone-brain stores it.
  execFileSync(ctx.python, ["-c", `
import numpy as np, fiftyone as fo, fiftyone.brain as fob
rng = np.random.RandomState(0)
n = ${n}
c = rng.randint(0, 10, n)
centers = rng.randn(10, 2) * 8
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.persistent = True
ds.add_samples([fo.Sample(filepath="/tmp/bench_panel/%d.png" % i) for i in range(n)], progress=False)
ds.set_values("cls", [fo.Classification(label="c%d" % k) for k in c], progress=False)
fob.compute_visualization(ds, points=centers[c] + rng.randn(n, 2), method="manual", brain_key="viz", progress=False)
`], { env: ctx.env, stdio: ["ignore", "ignore", "inherit"] });

  const app = await startAppServer(ctx.env);
  const browser = await launchBrowser();
  const { page } = browser;
  try {
    await openDataset(page, app.url, name);
    const t0 = Date.now();
    await page.getByTestId("new-panel-btn").first().click();
    await page.getByTestId("new-panel-option-brain_ts_embeddings").click();
    await page.waitForFunction(() => (window as unknown as W).__brainTsEmbeddings?.firstDrawMs != null, null, { timeout: 300_000 });
    const openToDrawMs = Date.now() - t0;
    const probe = await page.evaluate(() => {
      const p = (window as unknown as W).__brainTsEmbeddings!;
      return { firstDrawMs: p.firstDrawMs!, drawMs: p.drawMs!, queryMs: p.queryMs!, decodeMs: p.decodeMs!, points: p.plot!.count };
    });
    const payloadMb = (probe.points * (8 + 12)) / 0.75 / 1e6; // base64 of Float32 x, y + 12-byte ids

    console.error(`drawn ${probe.points} points: ${JSON.stringify(probe)}, panel opened → drawn ${openToDrawMs} ms`);
    const pan = await panFrames(page);
    console.error(`panning: ${JSON.stringify(pan)}`);
    const lasso = await lassoOneCluster(page, n);
    return { openToDrawMs, ...probe, payloadMb, ...pan, ...lasso };
  } finally {
    await browser.close();
    await app.stop();
  }
}

async function canvasBox(page: Page) {
  const box = await page.getByTestId("brain-ts-embeddings-canvas").boundingBox();
  if (!box) throw new Error("The panel's canvas is not visible");
  return box;
}

/** Drags the view around for ~2 s, recording when regl-scatterplot finishes each frame. */
async function panFrames(page: Page): Promise<{ panFrameMedianMs: number; panFrameP95Ms: number; panFrames: number }> {
  const box = await canvasBox(page);
  await page.evaluate(() => {
    const w = window as unknown as { __panFrames: number[] };
    w.__panFrames = [];
    (window as unknown as W).__brainTsEmbeddings!.scatterplot!.subscribe("drawing", () => w.__panFrames.push(performance.now()));
  });
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 0; k < 120; k++) {
    await page.mouse.move(cx + Math.cos(k / 10) * box.width / 4, cy + Math.sin(k / 10) * box.height / 4);
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
  const stamps = await page.evaluate(() => (window as unknown as { __panFrames: number[] }).__panFrames);
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
  if (!gaps.length) throw new Error("No frame was drawn while panning");
  return {
    panFrameMedianMs: gaps[Math.floor(gaps.length / 2)],
    panFrameP95Ms: gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.95))],
    panFrames: stamps.length,
  };
}

/** Box-selects the points of one class (a cluster) and times until the grid shows them. */
async function lassoOneCluster(page: Page, total: number): Promise<{ lassoSelected: number; lassoToGridMs: number }> {
  await page.evaluate(() => (window as unknown as W).__brainTsEmbeddings!.scatterplot!.zoomToOrigin({ transition: false }));
  await page.waitForTimeout(300);
  const box = await canvasBox(page);
  // An 80-pixel box around point 0, inside its cluster.
  const rect = await page.evaluate(() => {
    const [x, y] = (window as unknown as W).__brainTsEmbeddings!.scatterplot!.getScreenPosition(0)!;
    return { x, y };
  });
  await page.getByTestId("brain-ts-embeddings-mode-box").click();
  await page.mouse.move(box.x + rect.x - 40, box.y + rect.y - 40);
  await page.mouse.down();
  await page.mouse.move(box.x + rect.x, box.y + rect.y, { steps: 4 });
  await page.mouse.move(box.x + rect.x + 40, box.y + rect.y + 40, { steps: 4 });
  const t0 = Date.now();
  await page.mouse.up();
  await page.waitForFunction(() => (window as unknown as W).__brainTsEmbeddings!.selectedIds.length > 0, null, { timeout: 60_000 });
  const selected = await page.evaluate(() => (window as unknown as W).__brainTsEmbeddings!.selectedIds.length);
  // The App formats counts its own way (separators, abbreviations): wait for the count to
  // leave the full dataset's and check its digits.
  await page.waitForFunction(
    (n) => {
      // "7,120 samples" or "7,120 of 100,000 samples", depending on the App's state.
      const digits = (document.querySelector("[data-cy=entry-counts]")?.textContent ?? "").replace(/[^0-9]/g, "");
      return digits.length > 0 && !digits.startsWith(String(n));
    },
    total,
    { timeout: 300_000, polling: 50 },
  );
  const lassoToGridMs = Date.now() - t0;
  const text = (await page.getByTestId("entry-counts").first().textContent()) ?? "";
  if (!text.replace(/[^0-9]/g, "").startsWith(String(selected))) throw new Error(`The grid shows '${text}' after selecting ${selected} points`);
  return { lassoSelected: selected, lassoToGridMs };
}

export function formatPanelFigures(f: PanelFigures): string {
  return [
    "| measure | value |",
    "|---|---|",
    `| points | ${f.points} |`,
    `| panel opened → points drawn | ${(f.openToDrawMs / 1000).toFixed(2)} s |`,
    `| run requested → points drawn (runtime query + ${f.payloadMb.toFixed(1)} MB transfer + decode + draw) | ${(f.firstDrawMs / 1000).toFixed(2)} s |`,
    `| of which: query (App → Python bridge → runtime → App) / decode / draw | ${(f.queryMs / 1000).toFixed(2)} s / ${f.decodeMs.toFixed(0)} ms / ${f.drawMs.toFixed(0)} ms |`,
    `| frame time while panning (median / p95 of ${f.panFrames} frames) | ${f.panFrameMedianMs.toFixed(1)} / ${f.panFrameP95Ms.toFixed(1)} ms |`,
    `| box select → grid shows the selection (${f.lassoSelected} samples) | ${(f.lassoToGridMs / 1000).toFixed(2)} s |`,
  ].join("\n");
}
