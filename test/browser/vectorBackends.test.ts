import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { executeJob } from "../../src/runtime/execute";
import { appInChromium, Browser, executeForm, openDataset, openOperator } from "../support/browser";
import { AppServer } from "../support/appServer";
import { runPython, testDatabase } from "../support/fiftyone";
import { startPgliteServer, type PgliteServer } from "../support/pgliteServer";

// A pgvector index built from the App's form against a real Postgres-protocol server
// (PGlite + pgvector), then the grid sorted by similarity to an image through it.
jest.setTimeout(300_000);

const DATASET = "brain_ts_browser_pgvector";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-pgvector-media-"));
const savedEnv = { ...process.env };

let app: AppServer;
let browser: Browser;
let pg: PgliteServer;
let paths: string[];

appInChromium(async () => {
  pg = await startPgliteServer();
  // The App server, and so the runtime it starts, inherits the brain config from the environment.
  process.env.FIFTYONE_BRAIN_SIMILARITY_PGVECTOR_CONNECTION_STRING = pg.connectionString;
  process.env.FIFTYONE_BRAIN_CONFIG_PATH = join(mediaDir, "no_brain_config.json");
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

afterAll(async () => {
  await pg?.stop();
  process.env = savedEnv;
});

it("builds a pgvector index from the form and sorts the grid by an image through it", async () => {
  const { page, shot } = browser;
  await openDataset(page, app.url, DATASET);
  await openOperator(page, "Brain: compute similarity index");
  const modal = page.getByTestId("operators-prompt-modal");
  await modal.getByText("Exact (brute force)").first().waitFor();
  await modal.getByText("Exact (brute force)").first().click();
  await page.getByText("pgvector (PostgreSQL)").last().click();
  // pgvector's own parameters replace the other backends'.
  await modal.getByText("HNSW ef construction").waitFor();
  await shot("pgvector-01-compute-form");
  await executeForm(page, 90_000);

  const info = (await executeJob({ method: "get_similarity_index_info", params: { brain_key: "similarity" }, database: testDatabase(), dataset: DATASET })) as {
    backend: string;
    metric: string;
    size: number;
  };
  expect(info).toMatchObject({ backend: "pgvector", metric: "cosine", size: 12 });
  const table = await runPython<string>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).get_brain_info("similarity").config.table_name))
`);
  const sql = new Client({ connectionString: pg.connectionString });
  // The server stops at the end of the file; a failed test must not leave an unhandled error.
  sql.on("error", () => undefined);
  await sql.connect();
  const count = async () => {
    const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
    return Number(rows[0].n);
  };
  expect(await count()).toBe(12);

  await openOperator(page, "Brain: sort by similarity");
  await modal.getByText("Selected samples").waitFor();
  await modal.locator("input[type=radio][value=IMAGE]").check();
  await modal.getByText("…or an image path on the server").waitFor();
  await modal.locator("input[type=string]").first().fill(paths[5]);
  await modal.locator("input[type=number]").first().fill("4");
  await shot("pgvector-02-sort-form");
  await executeForm(page, 90_000);
  await page.getByTestId("entry-counts").filter({ hasText: /4 of 12 samples|^4 samples/ }).waitFor({ timeout: 60_000 });
  // For the screenshot: the result message (it hides itself) and the thumbnails.
  await page.getByText(/4 results, distances 0\.00/).waitFor({ timeout: 20_000 }).catch(() => undefined);
  await page.waitForFunction(() => document.querySelectorAll("img, canvas").length >= 4, null, { timeout: 30_000 }).catch(() => undefined);
  await shot("pgvector-03-grid-sorted");

  // The grid's order is pgvector's: the query image itself first, at distance 0.
  const ordered = (await executeJob({
    method: "sort_by_similarity",
    params: { brain_key: "similarity", image: { path: paths[5] }, k: 4 },
    database: testDatabase(),
    dataset: DATASET,
  })) as { ids: string[]; distances: number[] };
  const first = await runPython<string>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)})[${JSON.stringify(paths[5])}].id))
`);
  expect(ordered.ids[0]).toBe(first);
  expect(ordered.distances[0]).toBeLessThan(1e-4);

  // Deleting the run drops the table.
  await executeJob({ method: "delete_brain_run", params: { brain_key: "similarity" }, database: testDatabase(), dataset: DATASET });
  const { rows } = await sql.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [`"${table}"`]);
  expect(rows[0].t).toBeNull();
  await sql.end();
});
