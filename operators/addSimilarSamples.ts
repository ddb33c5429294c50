import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { SimilaritySource } from "../src/runtime/jobs/similarSamples";
import { queryRecordFields } from "../src/fiftyone/queryRecordFields";
import { callPythonOperator, COPY_SIMILAR_URI, queryRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addedMessage, addedView, addSearch, addSimilarFormError, addSimilarParams, DEFAULT_K, usableIndexes } from "./addSimilarParams";

interface AddSimilarResult {
  added_ids: string[];
  num_added: number;
  num_skipped: number;
  num_found: number;
  src_dataset: string;
}

// The other datasets and their indexes, fetched once per dataset and briefly reused: the
// App re-resolves the form on every keystroke.
const SOURCES_TTL_MS = 10_000;
let sourcesCache: { dataset: string; at: number; sources: Promise<SimilaritySource[]> } | null = null;

function similaritySources(dataset: string): Promise<SimilaritySource[]> {
  if (!sourcesCache || sourcesCache.dataset !== dataset || Date.now() - sourcesCache.at > SOURCES_TTL_MS) {
    const sources = queryRuntime<{ sources: SimilaritySource[] }>("list_similarity_sources").then((r) => r.sources);
    sourcesCache = { dataset, at: Date.now(), sources };
    sources.catch(() => (sourcesCache = null));
  }
  return sourcesCache.sources;
}

function selectedIds(ctx: ExecutionContext): string[] {
  return ctx.selectedSamples ? [...ctx.selectedSamples.keys()] : [];
}

/**
 * Adds samples of another dataset to this one by similarity, as the reference's form:
 * with samples selected, by their images (embedded with the source index's model);
 * otherwise by a text prompt. Results whose filepath is already here are skipped; the
 * grid then shows the selection and the added samples.
 */
export class AddSimilarSamples extends Operator {
  get config() {
    return new OperatorConfig({
      name: "add_similar_samples",
      label: "Brain: add similar samples",
      description: "Add samples of another dataset similar to the selection or to a text prompt",
      dynamic: true,
      icon: "add_photo_alternate",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    const sources = await similaritySources(ctx.datasetName);
    if (sources.length === 0) {
      inputs.str("no_sources", { label: "There is no other dataset to add samples from", view: new types.Warning(), invalid: true });
      return new types.Property(inputs);
    }
    const search = addSearch(selectedIds(ctx).length);
    const names = new types.AutocompleteView({ choices: [], allow_user_input: false });
    for (const s of sources) names.addChoice(s.dataset, { label: s.dataset, description: `${s.indexes.length} similarity index${s.indexes.length === 1 ? "" : "es"}` });
    inputs.enum("src_dataset", sources.map((s) => s.dataset), {
      label: "Source dataset",
      description: "The dataset to add samples from",
      required: true,
      view: names,
    });
    const source = sources.find((s) => s.dataset === ctx.params.src_dataset);
    const label = search === "image" ? "Add samples by image similarity (to the selected samples)" : "Add samples by text similarity";
    if (!source) return new types.Property(inputs, { view: new types.View({ label }) });
    const indexes = usableIndexes(source, search);
    const error = addSimilarFormError(search, ctx.params, sources, { name: ctx.datasetName, fields: info.fields });
    if (indexes.length) {
      const keys = new types.Dropdown({ choices: [] });
      for (const i of indexes) keys.addChoice(i.brain_key, { label: i.brain_key, description: i.model ? `model: ${i.model.split("/").pop()}` : "no model recorded" });
      inputs.enum("brain_key", indexes.map((i) => i.brain_key), { label: "Similarity index", description: `An index of '${source.dataset}'`, required: true, default: indexes[0].brain_key, view: keys });
      if (search === "text") inputs.str("query", { label: "Text prompt", description: "Add samples similar to this prompt", required: true });
      inputs.int("k", {
        label: "Number of matches (k)",
        description: "How many similar samples to add; results whose filepath is already in this dataset are skipped",
        default: DEFAULT_K,
        required: true,
      });
      if (search === "text") addFieldChoice(inputs, "query_field", "Store the prompt in (optional)", queryRecordFields(info.fields, "StringField"), "A new or existing text field of the added samples");
      addFieldChoice(inputs, "query_time_field", "Store the query time in (optional)", queryRecordFields(info.fields, "DateTimeField"), "A new or existing date-time field of the added samples");
    }
    if (error) inputs.str("form_error", { label: error, view: new types.Warning(), invalid: true });
    return new types.Property(inputs, { view: new types.View({ label }) });
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const selected = selectedIds(ctx);
    const search = addSearch(selected.length);
    const sources = await similaritySources(ctx.datasetName);
    const error = addSimilarFormError(search, ctx.params, sources, { name: ctx.datasetName, fields: info.fields });
    if (error) throw new Error(error);
    const defaultKey = usableIndexes(sources.find((s) => s.dataset === ctx.params.src_dataset), search)[0]?.brain_key ?? null;
    const result = await callPythonOperator<AddSimilarResult>(COPY_SIMILAR_URI, { params: addSimilarParams(search, ctx.params, selected, defaultKey) });
    // New fields (the copies' and the query's) appear in the sidebar after a reload.
    trigger("reload_dataset");
    trigger("set_view", { view: addedView(selected, result.added_ids) });
    trigger("notify", { message: addedMessage(result), variant: "success" });
    return { num_added: result.num_added, num_skipped: result.num_skipped };
  }
}

function addFieldChoice(inputs: types.Object, name: string, label: string, existing: string[], description: string): void {
  const choices = new types.AutocompleteView({ choices: [], allow_user_input: true });
  for (const f of existing) choices.addChoice(f, { label: f });
  inputs.str(name, { label, description, view: choices });
}
