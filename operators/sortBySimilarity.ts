import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { SortBySimilarityResult } from "../src/runtime/jobs/similarityParams";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { QueryTab, resultStages, similarityRuns, sortFormError, sortParams } from "./similarityParams";
import { hasSelection, hasView } from "./validation";

/**
 * Sorts the grid by similarity to the selected samples, an image or a text prompt
 * (the official plugin's three tabs, as a radio group), limited to the current view; the grid then shows the
 * results in order.
 */
export class SortBySimilarity extends Operator {
  get config() {
    return new OperatorConfig({
      name: "sort_by_similarity",
      label: "Brain: sort by similarity",
      description: "Show the samples most similar to the selection, an image or a text",
      dynamic: true,
      icon: "image_search",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    const runs = similarityRuns(info.brainRuns);
    if (runs.length === 0) {
      inputs.str("no_index", { label: "This dataset has no similarity index: compute one first (Brain: compute similarity index)", view: new types.Warning(), invalid: true });
      return new types.Property(inputs);
    }
    // The App's TabsView takes no choices from JS operators; a horizontal radio group does the same job.
    const tabs = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    tabs.addChoice("SELECTED", { label: "Selected samples" });
    tabs.addChoice("IMAGE", { label: "Image" });
    tabs.addChoice("TEXT", { label: "Text" });
    const tab = currentTab(ctx);
    inputs.enum("tab", ["SELECTED", "IMAGE", "TEXT"], { label: "Query by", default: hasSelection(ctx) ? "SELECTED" : "IMAGE", view: tabs });
    const keys = new types.Dropdown({ choices: [] });
    for (const r of runs) keys.addChoice(r.key, { label: r.key, description: r.method ?? undefined });
    inputs.enum("brain_key", runs.map((r) => r.key), { label: "Similarity index", required: true, default: runs[0].key, view: keys });
    if (tab === "SELECTED" && !hasSelection(ctx)) {
      inputs.str("no_selection", { label: "Select samples in the grid to search by them", view: new types.Warning() });
    } else if (tab === "IMAGE") {
      inputs.obj("query_image", { label: "Query image", description: "Embedded with the index's model", view: new types.FileView({ label: "Query image" }) });
      inputs.str("image_path", { label: "…or an image path on the server" });
    } else if (tab === "TEXT") {
      inputs.str("query", { label: "Text query", required: true, description: "Needs an index whose model embeds text prompts" });
    }
    const error = sortFormError(tab, ctx.params, ctx.selectedSamples?.size ?? 0);
    inputs.int("k", { label: "Number of results (k)", default: 25, invalid: error !== null && /k must/.test(error), errorMessage: error ?? undefined });
    inputs.bool("reverse", { label: "Least similar first", default: false });
    inputs.str("dist_field", { label: "Store distances in field (optional)" });
    if (error && !/k must/.test(error)) inputs.str("form_error", { label: error, view: new types.Warning(), invalid: true });
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const tab = currentTab(ctx);
    const selected = ctx.selectedSamples ? [...ctx.selectedSamples.keys()] : [];
    const error = sortFormError(tab, ctx.params, selected.length);
    if (error) throw new Error(error);
    const outcome = await callRuntime<SortBySimilarityResult>({
      method: "sort_by_similarity",
      params: sortParams(tab, { k: 25, ...ctx.params }, selected),
      target: hasView(ctx) ? "CURRENT_VIEW" : "DATASET",
    });
    if (outcome.delegated) throw new Error("sort_by_similarity cannot be delegated");
    const result = outcome.result;
    if (ctx.params.dist_field) trigger("reload_dataset");
    trigger("set_view", { view: resultStages(ctx.view ?? [], result) });
    const last = result.distances.length ? result.distances[result.distances.length - 1].toPrecision(3) : "–";
    trigger("notify", { message: `${result.ids.length} results, distances ${result.distances.length ? result.distances[0].toPrecision(3) : "–"} … ${last}`, variant: "success" });
    return { count: result.ids.length };
  }
}

function currentTab(ctx: ExecutionContext): QueryTab {
  const tab = ctx.params.tab;
  if (tab === "SELECTED" || tab === "IMAGE" || tab === "TEXT") return tab;
  return hasSelection(ctx) ? "SELECTED" : "IMAGE";
}
