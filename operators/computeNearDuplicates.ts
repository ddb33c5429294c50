import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { NearDuplicatesResult } from "../src/runtime/jobs/nearDuplicates";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addAfterRunInput, applyAfterRun } from "./duplicateResults";
import { addDelegateInput, addEmbeddingsFieldInput, addNewBrainKeyInput, addTargetInput, DEFAULT_MODEL } from "./forms";
import {
  BrainRunRef, chosenTarget, duplicateFieldsError, duplicateIndexes, embeddingsFields, freeKey, hasSelection, hasView, newBrainKeyError, newFieldError, thresholdError, thresholdWarning,
} from "./validation";

type Source = "FIELD" | "INDEX" | "MODEL";

/** The sources this dataset offers (the default model always), in the form's order. */
function availableSources(vectorFields: string[], indexes: BrainRunRef[]): Source[] {
  return [...(vectorFields.length ? ["FIELD" as const] : []), ...(indexes.length ? ["INDEX" as const] : []), "MODEL"];
}

/** Where the vectors come from: the form's choice, else a field, an index, or the default model, in that order. */
function chosenSource(params: Record<string, unknown>, vectorFields: string[], indexes: BrainRunRef[]): Source {
  const available = availableSources(vectorFields, indexes);
  return available.includes(params.source as Source) ? (params.source as Source) : available[0];
}

/** The metric the threshold is checked against: the form's for a field; an index's own is checked by the runtime. */
function formMetric(params: Record<string, unknown>, source: Source): string {
  return source === "INDEX" ? "any" : ((params.metric as string | undefined) ?? "cosine");
}

/** Finds near duplicates from an embeddings field or a similarity index, with the reference's threshold semantics. */
export class ComputeNearDuplicates extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_near_duplicates",
      label: "Brain: find near duplicates",
      description: "Group samples whose embeddings are within a distance threshold",
      dynamic: true,
      icon: "filter_none",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    const vectorFields = embeddingsFields(info.fields);
    const indexes = duplicateIndexes(info.brainRuns);
    const keys = info.brainRuns.map((r) => r.key);
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    const available = availableSources(vectorFields, indexes);
    const source = chosenSource(ctx.params, vectorFields, indexes);
    const sources = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    const labels: Record<Source, [string, string]> = {
      FIELD: ["Embeddings field", "Vectors stored on the samples"],
      INDEX: ["Similarity index", "Its vectors and metric; nothing is re-read or recomputed"],
      MODEL: ["Default model", "Embed the images with the offline MobileNetV2 first"],
    };
    for (const s of available) sources.addChoice(s, { label: labels[s][0], description: labels[s][1] });
    inputs.enum("source", available, { label: "Embeddings from", default: available[0], view: sources });
    if (source !== "INDEX") {
      if (source === "FIELD") addEmbeddingsFieldInput(inputs, vectorFields);
      else {
        const error = ctx.params.store_embeddings ? newFieldError(ctx.params.store_embeddings, info.fieldNames) : null;
        inputs.str("store_embeddings", {
          label: "Store the embeddings in (optional)",
          description: "A new field for the model's vectors, to reuse them (similarity, visualization) without embedding again",
          invalid: error !== null,
          errorMessage: error ?? undefined,
        });
      }
      const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
      metrics.addChoice("cosine", { label: "Cosine" });
      metrics.addChoice("euclidean", { label: "Euclidean" });
      inputs.enum("metric", ["cosine", "euclidean"], { label: "Distance", default: "cosine", view: metrics });
    } else {
      const choices = new types.Dropdown({ choices: [] });
      for (const r of indexes) choices.addChoice(r.key, { label: r.key, description: r.method ?? undefined });
      inputs.enum("similarity_index", indexes.map((r) => r.key), {
        label: "Similarity index",
        description: "Distances are in the index's metric; samples of the view it does not hold are skipped and reported",
        required: true,
        default: indexes[0].key,
        view: choices,
      });
    }
    const metric = formMetric(ctx.params, source);
    const threshold = ctx.params.threshold ?? 0.2;
    const error = thresholdError(threshold, metric);
    inputs.float("threshold", {
      label: "Threshold",
      description: "Samples within this distance of an earlier kept sample are duplicates (cosine: 0.1–0.25 usually works)",
      default: 0.2,
      required: true,
      invalid: error !== null,
      errorMessage: error ?? undefined,
    });
    const warning = thresholdWarning(threshold, metric);
    if (warning) inputs.str("threshold_warning", { label: warning, view: new types.Warning() });
    const searches = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    searches.addChoice("auto", { label: "Automatic", description: "Exact up to 200 000 samples, approximate (HNSW) above" });
    searches.addChoice("exact", { label: "Exact", description: "Every pair compared: the reference's results" });
    searches.addChoice("hnswlib", { label: "Approximate (HNSW)", description: "Faster on very large datasets; may miss some duplicates" });
    inputs.enum("neighbor_search", ["auto", "exact", "hnswlib"], { label: "Neighbour search", default: "auto", view: searches });
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey("near_duplicates", keys));
    const fieldError = duplicateFieldsError(ctx.params, info.fieldNames);
    const fieldInput = (param: string, label: string, description: string) =>
      inputs.str(param, {
        label,
        description,
        invalid: fieldError?.param === param,
        errorMessage: fieldError?.param === param ? fieldError.error : undefined,
      });
    fieldInput("type_field", "Type field (optional)", "New field: 'nearest' for each group's kept sample, 'duplicate' for the others");
    fieldInput("id_field", "Nearest id field (optional)", "New field: the id of the group's kept sample (itself for the kept one)");
    fieldInput("dist_field", "Distance field (optional)", "New field: the distance to the group's kept sample (0 for the kept one)");
    addAfterRunInput(inputs);
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey("near_duplicates", keys);
    const vectorFields = embeddingsFields(info.fields);
    const indexes = duplicateIndexes(info.brainRuns);
    const source = chosenSource(ctx.params, vectorFields, indexes);
    const metric = (ctx.params.metric as string | undefined) ?? "cosine";
    const threshold = ctx.params.threshold ?? 0.2;
    const store = source === "MODEL" && typeof ctx.params.store_embeddings === "string" && ctx.params.store_embeddings ? ctx.params.store_embeddings : null;
    const invalid =
      newBrainKeyError(brainKey, keys) ??
      thresholdError(threshold, formMetric(ctx.params, source)) ??
      duplicateFieldsError(ctx.params, info.fieldNames)?.error ??
      (store ? newFieldError(store, info.fieldNames) : null);
    if (invalid) throw new Error(invalid);
    const search = ctx.params.neighbor_search as string | undefined;
    const fields: Record<string, string> = {};
    for (const f of ["type_field", "id_field", "dist_field"]) if (typeof ctx.params[f] === "string" && ctx.params[f]) fields[f] = ctx.params[f] as string;
    const from =
      source === "INDEX"
        ? { similarity_index: (ctx.params.similarity_index as string | undefined) ?? indexes[0]?.key }
        : source === "MODEL"
          ? { model: DEFAULT_MODEL, metric, ...(store ? { embeddings: store } : {}) }
          : { embeddings: ctx.params.embeddings ?? vectorFields[0], metric };
    const outcome = await callRuntime<NearDuplicatesResult>({
      method: "compute_near_duplicates",
      params: { brain_key: brainKey, ...from, threshold, ...fields, ...(search === "exact" || search === "hnswlib" ? { backend: search } : {}) },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Near duplicates queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const result = outcome.result;
    await applyAfterRun(ctx.params.after_run, result.duplicates);
    const skipped = result.similarityIndex
      ? result.numNotIndexed
        ? `; ${result.numNotIndexed} samples of the view are not in the index '${result.similarityIndex}' and were skipped (e.g. ${result.notIndexedIds.slice(0, 3).join(", ")})`
        : ""
      : result.numMissing
        ? `; ${result.numMissing} samples without embeddings skipped`
        : "";
    const written = result.fields.length ? `; fields ${result.fields.join(", ")} written` : "";
    trigger("notify", {
      message: `${result.duplicateIds.length} near duplicates of ${Object.keys(result.duplicates).length} samples among ${result.numSamples}${skipped}${written}`,
      variant: skipped ? "warning" : "success",
    });
    return { brain_key: brainKey, num_samples: result.numSamples, num_duplicates: result.duplicateIds.length };
  }
}
