import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeJob } from "../../src/runtime/execute";
import { AppServer } from "../support/appServer";
import { appInChromium, Browser, executeForm, openDataset, openOperator, waitForExecutable } from "../support/browser";
import { runPython, testDatabase } from "../support/fiftyone";
import { writeToyClip } from "../support/toyClip";

jest.setTimeout(180_000);

// The "add similar samples" form in the real App: a text search of another dataset's
// index (built with a generated image+text model) adds its results to the open dataset.
const SRC = "brain_ts_browser_addsim_src";
const DST = "brain_ts_browser_addsim_dst";
const dir = mkdtempSync(join(tmpdir(), "brain-ts-addsim-browser-"));
const toy = writeToyClip(join(dir, "toy"));

let app: AppServer;
let browser: Browser;

appInChromium(async () => {
  await runPython(`
import fiftyone as fo
from PIL import Image
d = ${JSON.stringify(dir)}
colours = {"red": (230, 40, 30), "darkred": (150, 20, 20), "orange": (230, 120, 30), "green": (20, 210, 60),
           "blue": (40, 30, 220), "grey": (128, 128, 128), "white": (250, 250, 250)}
for n, rgb in colours.items():
    Image.new("RGB", (64, 64), rgb).save("%s/%s.png" % (d, n))
src = fo.Dataset(${JSON.stringify(SRC)}, overwrite=True)
src.persistent = True
src.add_samples([fo.Sample(filepath="%s/%s.png" % (d, n), colour=n) for n in colours])
dst = fo.Dataset(${JSON.stringify(DST)}, overwrite=True)
dst.persistent = True
dst.add_samples([fo.Sample(filepath="%s/%s.png" % (d, n), colour=n) for n in ["red", "white"]])
print("null")
`);
  await executeJob({ method: "compute_similarity", params: { brain_key: "clip", embeddings: "clip_emb", model: toy.manifestPath }, database: testDatabase(), dataset: SRC });
}, (started) => ({ app, browser } = started));

it("adds the source's samples nearest a text prompt, skips the one already present, and shows them", async () => {
  const { page, shot } = browser;
  await openDataset(page, app.url, DST);
  await openOperator(page, "Brain: add similar samples");
  const modal = page.getByTestId("operators-prompt-modal");
  await modal.getByText("Source dataset").first().waitFor().catch(async (err) => {
    await shot("addsim-01-form-failed");
    throw new Error(`${(err as Error).message}\nThe form shows:\n${await modal.innerText()}\n${browser.logs.slice(-20).join("\n")}`);
  });
  // The source is chosen among the other datasets (an autocomplete).
  const source = modal.getByRole("combobox").first();
  await source.click();
  await source.fill("addsim_src");
  await page.getByRole("option", { name: SRC }).click();
  await modal.getByText("Text prompt").first().waitFor();
  await shot("addsim-01-form");
  // Each field's input is the first one after its label.
  const inputAfter = (label: string) => modal.getByText(label, { exact: true }).first().locator("xpath=following::input[1]");
  await inputAfter("Text prompt").fill("a photo of red");
  await inputAfter("Number of matches (k)").fill("3");
  await inputAfter("Store the prompt in (optional)").fill("prompt");
  await waitForExecutable(page);
  await shot("addsim-02-filled");
  await executeForm(page, 60_000);
  // The grid shows the added samples: the three nearest red minus the red file already here.
  await page
    .getByTestId("entry-counts")
    .filter({ hasText: /^2 samples|2 of 4 samples/ })
    .waitFor({ timeout: 60_000 })
    .catch(async (err) => {
      await shot("addsim-03-grid-failed");
      const counts = await page.getByTestId("entry-counts").first().innerText().catch(() => "?");
      throw new Error(`${(err as Error).message}\ncounts: ${counts}\n${browser.logs.slice(-15).join("\n")}`);
    });
  // The result says how many were added and skipped.
  await page.getByText(/Added 2 samples from '.*'; 1 skipped/).waitFor({ timeout: 15_000 });
  await page.waitForTimeout(1500); // the tiles' images
  await shot("addsim-03-grid");
  const out = await runPython<{ n: number; prompts: Array<string | null>; colours: string[] }>(`
import json, fiftyone as fo
dst = fo.load_dataset(${JSON.stringify(DST)})
added = dst.exists("prompt")
print(json.dumps({"n": len(dst), "prompts": added.values("prompt"), "colours": sorted(added.values("colour"))}))
`);
  expect(out.n).toBe(4);
  expect(out.prompts).toEqual(["a photo of red", "a photo of red"]);
  expect(out.colours).toEqual(["darkred", "orange"]);
});

it("with a sample selected in the grid, adds the source's samples nearest its image", async () => {
  const { page, shot } = browser;
  await openDataset(page, app.url, DST);
  // The App keeps the view the first test set: back to the whole dataset.
  await page.getByTestId("btn-clear-view-bar").click();
  // The whole dataset in insertion order: red, white, then the two added above; select white.
  await page.getByTestId("entry-counts").filter({ hasText: /^4 samples/ }).waitFor({ timeout: 30_000 }).catch(async (err) => {
    await shot("addsim-04-grid-failed");
    throw new Error(`${(err as Error).message}\ncounts: ${await page.getByTestId("entry-counts").first().innerText().catch(() => "?")}`);
  });
  await page.getByTestId("fo-grid").getByTestId("looker").nth(1).click({ position: { x: 10, y: 5 } });
  await shot("addsim-04-selected");
  await openOperator(page, "Brain: add similar samples");
  const modal = page.getByTestId("operators-prompt-modal");
  await modal.getByText("Add samples by image similarity (to the selected samples)").first().waitFor({ timeout: 30_000 });
  const source = modal.getByRole("combobox").first();
  await source.click();
  await source.fill("addsim_src");
  await page.getByRole("option", { name: SRC }).click();
  await modal.getByText("Number of matches (k)", { exact: true }).first().waitFor();
  await expect(modal.getByText("Text prompt", { exact: true }).count()).resolves.toBe(0);
  await modal.getByText("Number of matches (k)", { exact: true }).first().locator("xpath=following::input[1]").fill("2");
  await waitForExecutable(page);
  await shot("addsim-04-image-form");
  await executeForm(page, 60_000);
  // White itself is already here (skipped); the next nearest source sample is added.
  await page.getByText(/Added 1 sample from '.*'; 1 skipped/).waitFor({ timeout: 30_000 }).catch(async (err) => {
    await shot("addsim-05-image-failed");
    throw new Error(`${(err as Error).message}\n${await page.locator("body").innerText()}\n${browser.logs.slice(-15).join("\n")}`);
  });
  await page.getByTestId("entry-counts").filter({ hasText: /^2 samples|2 of 5 samples/ }).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot("addsim-05-image-grid");
  const out = await runPython<{ n: number; added: string[]; whiteInSource: string; colourOf: Record<string, string> }>(`
import json, fiftyone as fo
dst = fo.load_dataset(${JSON.stringify(DST)})
src = fo.load_dataset(${JSON.stringify(SRC)})
print(json.dumps({"n": len(dst), "added": dst.match(~fo.ViewField("colour").is_in(["red", "white", "darkred", "orange"])).values("colour"),
  "whiteInSource": src.match(fo.ViewField("colour") == "white").first().id, "colourOf": dict(zip(src.values("id"), src.values("colour")))}))
`);
  // The same image's neighbours in the source's index: itself, then the one added.
  const nearest = (await executeJob({ method: "sort_by_similarity", params: { brain_key: "clip", query_ids: [out.whiteInSource], k: 2 }, database: testDatabase(), dataset: SRC })) as { ids: string[] };
  expect(out.n).toBe(5);
  expect(out.added).toEqual([out.colourOf[nearest.ids[1]]]);
});
