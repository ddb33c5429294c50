import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appInChromium, Browser, executeButton, openDataset, openOperator, executeForm, waitForExecutable } from "../support/browser";
import { AppServer, startDelegatedWorker } from "../support/appServer";
import { runPython } from "../support/fiftyone";

jest.setTimeout(240_000);

const DATASET = "brain_ts_browser";
const mediaDir = mkdtempSync(join(tmpdir(), "brain-ts-browser-media-"));

let app: AppServer;
let browser: Browser;

appInChromium(async () => {
  // 16 distinct images, then copies: two of image 2, one of image 7 -> 2 groups, 3 duplicates.
  await runPython<{ ids: string[] }>(`
import json, shutil, fiftyone as fo
from PIL import Image, ImageDraw
d = ${JSON.stringify(mediaDir)}
paths = []
for i in range(16):
    p = "%s/img%02d.png" % (d, i)
    im = Image.new("RGB", (64, 64), (20 * i % 256, 90, 200 - 10 * i))
    ImageDraw.Draw(im).text((20, 25), str(i), fill=(255, 255, 255))
    im.save(p)
    paths.append(p)
for src, name in [(2, "copy2a"), (2, "copy2b"), (7, "copy7")]:
    p = "%s/%s.png" % (d, name)
    shutil.copy(paths[src], p)
    paths.append(p)
ds = fo.Dataset(${JSON.stringify(DATASET)}, overwrite=True)
ds.persistent = True
# The 16 originals are "train"; the copies are "test", so they leak.
ds.add_samples([fo.Sample(filepath=p, tags=["train" if i < 16 else "test"]) for i, p in enumerate(paths)])
# Embeddings: random for the originals, the originals' plus a little noise for the copies.
import numpy as np
rng = np.random.RandomState(0)
emb = list(rng.randn(16, 32))
# copy7 is further from its original (cosine distance about 0.1) than the copies of 2.
emb += [emb[2] + rng.randn(32) * 0.01, emb[2] + rng.randn(32) * 0.02, emb[7] + rng.randn(32) * 0.45]
ds.set_values("emb", emb)
print(json.dumps({"ids": ds.values("id")}))
`);
}, (started) => ({ app, browser } = started));

const brainRuns = () =>
  runPython<string[]>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).list_brain_runs()))
`);

describe("the plugin in a real FiftyOne App", () => {
  it("serves the plugin with its bundle and Python bridge", async () => {
    const res = await fetch(`${app.url}/plugins`);
    const { plugins } = (await res.json()) as { plugins: { name: string; has_js?: boolean; js_bundle_exists?: boolean; operators: string[] }[] };
    const ours = plugins.find((p) => p.name === "@brain-ts/brain");
    expect(ours).toBeDefined();
    expect(ours!.js_bundle_exists ?? ours!.has_js).toBe(true);
    expect(ours!.operators).toEqual(expect.arrayContaining(["run_method", "compute_exact_duplicates"]));
  });

  it("finds exact duplicates from the operator form, validating the brain key first, and shows them in the grid", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await expect(page.getByTestId("entry-counts").innerText()).resolves.toMatch(/19 samples/);
    await openOperator(page, "Brain: find exact duplicates");
    await shot("01-exact-duplicates-form");

    const modal = page.getByTestId("operators-prompt-modal");
    const keyInput = modal.locator("input[type=string]").first();
    await keyInput.fill("not-a-key");
    await modal.getByText(/must be valid Python identifiers/).waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await shot("02-invalid-brain-key");

    await keyInput.fill("dups");
    await modal.getByText(/must be valid Python identifiers/).waitFor({ state: "detached" });
    await waitForExecutable(page);
    await executeButton(page).click();

    // The grid now shows each group's first sample followed by its duplicates.
    await page.getByTestId("entry-counts").filter({ hasText: /5 of 19 samples|^5 samples/ }).waitFor({ timeout: 60_000 });
    await shot("03-duplicates-in-grid");
    await expect(brainRuns()).resolves.toContain("dups");
  });

  it("finds near duplicates from an embeddings field, refusing an impossible threshold before Execute", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find near duplicates");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    const threshold = modal.locator("input[type=number]").first();
    await threshold.fill("3");
    await modal.getByText(/Cosine distances are at most 2/).waitFor();
    expect(await executeButton(page).isEnabled()).toBe(false);
    await threshold.fill("0.2");
    await modal.getByText(/Cosine distances are at most 2/).waitFor({ state: "detached" });
    await shot("03b-near-duplicates-form");
    await executeForm(page);
    await page.getByTestId("entry-counts").filter({ hasText: /5 of 19 samples|^5 samples/ }).waitFor({ timeout: 60_000 });
    await expect(brainRuns()).resolves.toContain("near_duplicates");
  });

  it("finds leaks between the train and test tags and tags them", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find leaks between splits");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    const tags = modal.locator("input[type=string]").first();
    await tags.fill("train");
    await modal.getByText(/at least two different tags/).waitFor();
    await tags.fill("train, test");
    await modal.getByText(/at least two different tags/).waitFor({ state: "detached" });
    await modal.locator("input[type=radio][value=tag]").check();
    await shot("03d-leaks-form");
    await executeForm(page);
    const leaks = await runPython<number>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).count_sample_tags().get("leak", 0)))
`);
    expect(leaks).toBe(5); // images 2 and 7 (train) and their three copies (test)
  });

  it("computes embeddings with the default model from its form", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute embeddings");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    await modal.locator("input[type=string]").first().fill("emb");
    await modal.getByText("Field 'emb' already exists").waitFor();
    await modal.locator("input[type=string]").first().fill("model_emb");
    await shot("03c-embeddings-form");
    await executeForm(page, 120_000);
    const stored = await runPython<{ n: number; dim: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
v = [x for x in ds.values("model_emb") if x is not None]
print(json.dumps({"n": len(v), "dim": int(v[0].shape[0])}))
`);
    expect(stored).toEqual({ n: 19, dim: 1280 });
  });

  it("computes uniqueness from an embeddings field, refusing a key that exists", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: compute uniqueness");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    const field = modal.locator("input[type=string]").first();
    await field.fill("near_duplicates");
    await modal.getByText("A brain run with key 'near_duplicates' already exists").waitFor();
    await field.fill("uniq");
    await modal.getByText(/already exists/).waitFor({ state: "detached" });
    await shot("03e-uniqueness-form");
    await executeForm(page);
    await shot("03f-after-uniqueness");
    const scores = await runPython<{ runs: string[]; n: number; max: number }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
v = [x for x in ds.values("uniq") if x is not None]
print(json.dumps({"runs": ds.list_brain_runs(), "n": len(v), "max": max(v)}))
`);
    expect(scores.runs).toContain("uniq");
    expect(scores.n).toBe(19);
    expect(scores.max).toBe(1);
  });

  it("browses the groups in the Duplicates panel and narrows the grid to one group", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await page.getByTestId("new-panel-btn").first().click();
    await page.getByTestId("new-panel-option-brain_ts_duplicates").click();
    const panel = page.getByTestId("brain-ts-duplicates-panel");
    await panel.waitFor();
    const groups = panel.getByTestId("brain-ts-duplicate-group");
    await groups.first().waitFor({ timeout: 30_000 });
    expect(await groups.count()).toBe(2);
    await expect(panel.getByTestId("brain-ts-group-count").innerText()).resolves.toBe("2 groups, 3 duplicates");
    // The largest group (image 2 and its two copies) comes first, with thumbnails.
    await expect(groups.first().locator("img").count()).resolves.toBe(3);
    await page.waitForFunction(
      () => [...document.querySelectorAll("[data-cy=brain-ts-duplicate-group] img")].every((i) => (i as HTMLImageElement).naturalWidth > 0),
    );
    await shot("04-duplicates-panel");
    await groups.first().click();
    await page.getByTestId("entry-counts").filter({ hasText: /3 of 19 samples|^3 samples/ }).waitFor({ timeout: 30_000 });
    await shot("05-one-group-in-grid");

    // Tagging is the default action: every sample but the first of each group.
    await panel.getByTestId("brain-ts-tag-all").click();
    await panel.getByTestId("brain-ts-notice").filter({ hasText: "Tagged 3 samples 'duplicate'" }).waitFor();
    const tags = await runPython<Record<string, number>>(`
import json, fiftyone as fo
print(json.dumps(fo.load_dataset(${JSON.stringify(DATASET)}).count_sample_tags()))
`);
    expect(tags).toMatchObject({ duplicate: 3 });
  });

  it("regroups a near-duplicate run live with the threshold slider", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    const panel = page.getByTestId("brain-ts-duplicates-panel");
    await panel.waitFor();
    await panel.getByTestId("brain-ts-run-picker").selectOption("near_duplicates");
    const count = panel.getByTestId("brain-ts-group-count");
    await count.filter({ hasText: "2 groups, 3 duplicates" }).waitFor({ timeout: 30_000 });
    await panel.getByTestId("brain-ts-threshold").fill("0.02");
    await count.filter({ hasText: "1 groups, 2 duplicates" }).waitFor();
    await shot("05b-threshold-slider");
    // the duplicates view's fields at the slider's threshold, owned by the run
    await panel.getByTestId("brain-ts-save-fields").click();
    await panel.getByTestId("brain-ts-type_field").fill("slider_type");
    await panel.getByTestId("brain-ts-id_field").fill("slider_nearest");
    await panel.getByTestId("brain-ts-dist_field").fill("");
    await shot("05c-save-fields");
    await panel.getByTestId("brain-ts-save-fields-yes").click();
    await panel.getByTestId("brain-ts-notice").filter({ hasText: "Wrote 'slider_type', 'slider_nearest' at threshold 0.0200 (2 duplicates)" }).waitFor({ timeout: 30_000 });
    const fields = await runPython<{ types: Record<string, number>; owned: string[] }>(`
import json, fiftyone as fo
ds = fo.load_dataset(${JSON.stringify(DATASET)})
cfg = ds.get_brain_info("near_duplicates").config
print(json.dumps({"types": {str(k): v for k, v in ds.count_values("slider_type").items()}, "owned": [cfg.type_field, cfg.id_field]}))
`);
    expect(fields.types).toMatchObject({ nearest: 1, duplicate: 2 });
    expect(fields.owned).toEqual(["slider_type", "slider_nearest"]);
    await panel.getByTestId("brain-ts-threshold").fill("0.2");
    await count.filter({ hasText: "2 groups, 3 duplicates" }).waitFor();
  });

  it("queues the run as a delegated operation that `fiftyone delegated launch` completes", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: find exact duplicates");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("input[type=radio][value=DATASET]").check();
    await modal.locator("input[type=string]").first().fill("delegated_dups");
    await modal.getByText("Delegate", { exact: true }).click();
    await executeForm(page);

    const queued = await runPython<{ state: string; id: string }[]>(`
import json, fiftyone.core.odm.database as d
ops = d.get_db_conn().delegated_ops.find({"operator": "@brain-ts/brain/run_method"})
print(json.dumps([{"state": o["run_state"], "id": str(o["_id"])} for o in ops]))
`);
    expect(queued.map((q) => q.state)).toEqual(["queued"]);
    await expect(brainRuns()).resolves.not.toContain("delegated_dups");

    const worker = startDelegatedWorker(app.env);
    try {
      let op: { state: string; progress: number | null; result: { result?: { numDuplicates?: number } } | null } | null = null;
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        op = await runPython(`
import json, fiftyone.core.odm.database as d
from bson import ObjectId
o = d.get_db_conn().delegated_ops.find_one({"_id": ObjectId(${JSON.stringify(queued[0].id)})})
print(json.dumps({"state": o["run_state"], "progress": (o.get("status") or {}).get("progress"), "result": (o.get("result") or {}).get("result")}))
`);
        if (op!.state === "completed" || op!.state === "failed") break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(op?.state).toBe("completed");
      expect(op?.progress).toBe(1);
      expect(op?.result?.result?.numDuplicates).toBe(3);
    } finally {
      await worker.stop();
    }
    await expect(brainRuns()).resolves.toContain("delegated_dups");
    await shot("06-after-delegated-run");
  });

  it("renames and deletes runs from the run-management forms", async () => {
    const { page } = browser;
    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: rename run");
    const modal = page.getByTestId("operators-prompt-modal");
    await modal.locator("[role=combobox]").first().click();
    await page.getByRole("option", { name: /^dups\b/ }).first().click();
    await modal.locator("input[type=string]").last().fill("dups_renamed");
    await browser.shot("07-rename-form");
    await executeForm(page);
    await expect(brainRuns()).resolves.toContain("dups_renamed");

    await openDataset(page, app.url, DATASET);
    await openOperator(page, "Brain: delete run");
    await modal.getByText(/cannot be undone/).waitFor();
    await modal.locator("[role=combobox]").first().click();
    await page.getByRole("option", { name: /^dups_renamed\b/ }).first().click();
    await browser.shot("08-delete-form");
    await executeForm(page);
    await expect(brainRuns()).resolves.toEqual(["delegated_dups", "leaks", "near_duplicates", "uniq"]);
  });

  it("deletes duplicates from the panel only after a confirmation that says how many", async () => {
    const { page, shot } = browser;
    await openDataset(page, app.url, DATASET);
    const panel = page.getByTestId("brain-ts-duplicates-panel");
    if (!(await panel.isVisible())) {
      await page.getByTestId("new-panel-btn").first().click();
      await page.getByTestId("new-panel-option-brain_ts_duplicates").click();
    }
    await panel.getByTestId("brain-ts-duplicate-group").first().waitFor({ timeout: 30_000 });
    await panel.getByTestId("brain-ts-delete-all").click();
    const confirm = panel.getByTestId("brain-ts-confirm-delete");
    await confirm.filter({ hasText: "Delete 3 duplicate samples" }).waitFor();
    await shot("09-confirm-delete");
    const count = () =>
      runPython<number>(`
import json, fiftyone as fo
print(json.dumps(len(fo.load_dataset(${JSON.stringify(DATASET)}))))
`);
    await expect(count()).resolves.toBe(19); // nothing deleted before confirming
    await panel.getByTestId("brain-ts-confirm-delete-yes").click();
    await panel.getByTestId("brain-ts-notice").filter({ hasText: "Deleted 3 samples" }).waitFor();
    await expect(count()).resolves.toBe(16);
    await panel.getByTestId("brain-ts-group-count").filter({ hasText: "0 groups, 0 duplicates" }).waitFor();
    await shot("10-after-delete");
  });
});
