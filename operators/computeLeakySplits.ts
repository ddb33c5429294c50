import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { LeakySplitsResult } from "../src/runtime/jobs/leakySplits";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addEmbeddingsFieldInput, addNewBrainKeyInput, addNoEmbeddingsWarning, addTargetInput } from "./forms";
import {
  chosenTarget, embeddingsFields, freeKey, hasSelection, hasView, newBrainKeyError, splitFieldError, splitFields, splitNames,
  splitNamesError, thresholdError, thresholdWarning,
} from "./validation";
import { selectStage } from "./views";

export const LEAK_TAG = "leak";
const SPLIT_BY = ["tags", "field", "views"] as const;
type SplitBy = (typeof SPLIT_BY)[number];

/** Finds near duplicates across splits (train/test leaks), which the official plugin cannot. */
export class ComputeLeakySplits extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_leaky_splits",
      label: "Brain: find leaks between splits",
      description: "Near duplicates that cross train/test splits given by tags, a field or saved views",
      dynamic: true,
      icon: "call_split",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    const vectorFields = embeddingsFields(info.fields);
    if (vectorFields.length === 0) return addNoEmbeddingsWarning(inputs);
    const keys = info.brainRuns.map((r) => r.key);
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    addEmbeddingsFieldInput(inputs, vectorFields);

    const by = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    by.addChoice("tags", { label: "Sample tags" });
    by.addChoice("field", { label: "A field's values" });
    by.addChoice("views", { label: "Saved views" });
    inputs.enum("split_by", [...SPLIT_BY], { label: "Splits given by", default: "tags", view: by });
    const splitBy = chosenSplitBy(ctx.params);
    if (splitBy === "field") {
      const candidates = splitFields(info.fields);
      const choices = new types.Dropdown({ choices: [] });
      for (const f of info.fields.map((x) => x.name).sort()) choices.addChoice(f, { label: f });
      const value = ctx.params.split_field ?? candidates[0];
      const error = splitFieldError(info.fields, value);
      inputs.enum("split_field", info.fields.map((f) => f.name), {
        label: "Split field",
        description: "One split per distinct value (strings, integers, booleans or lists of them)",
        default: candidates[0],
        required: true,
        view: choices,
        invalid: error !== null,
        errorMessage: error ?? undefined,
      });
    } else {
      const name = splitBy === "tags" ? "split_tags" : "split_views";
      const what = splitBy === "tags" ? "tags" : "saved views";
      const fallback = splitBy === "tags" ? "train, test" : "";
      const error = splitNamesError(splitNames(ctx.params[name] ?? fallback), what);
      inputs.str(name, {
        label: splitBy === "tags" ? "Split tags" : "Saved views",
        description: splitBy === "tags" ? "Sample tags that define the splits, e.g. train, test" : "Names of saved views that define the splits, separated by commas",
        default: fallback,
        required: true,
        invalid: error !== null,
        errorMessage: error ?? undefined,
      });
    }
    const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    metrics.addChoice("cosine", { label: "Cosine" });
    metrics.addChoice("euclidean", { label: "Euclidean" });
    inputs.enum("metric", ["cosine", "euclidean"], { label: "Distance", default: "cosine", view: metrics });
    const metric = (ctx.params.metric as string | undefined) ?? "cosine";
    const threshold = ctx.params.threshold ?? 0.2;
    const error = thresholdError(threshold, metric);
    inputs.float("threshold", { label: "Threshold", default: 0.2, required: true, invalid: error !== null, errorMessage: error ?? undefined });
    const warning = thresholdWarning(threshold, metric);
    if (warning) inputs.str("threshold_warning", { label: warning, view: new types.Warning() });
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey("leaks", keys));
    const after = new types.RadioGroup({ choices: [] });
    after.addChoice("show", { label: "Show the leaks in the grid" });
    after.addChoice("tag", { label: `Tag leaks '${LEAK_TAG}'` });
    after.addChoice("none", { label: "Only record the run (browse it in the Leaks panel)" });
    inputs.enum("after_run", ["show", "tag", "none"], { label: "Then", default: "show", view: after });
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey("leaks", keys);
    const metric = (ctx.params.metric as string | undefined) ?? "cosine";
    const threshold = ctx.params.threshold ?? 0.2;
    const splitBy = chosenSplitBy(ctx.params);
    const splits: Record<string, unknown> = {};
    let invalid = newBrainKeyError(brainKey, keys) ?? thresholdError(threshold, metric);
    if (splitBy === "field") {
      const field = ctx.params.split_field ?? splitFields(info.fields)[0];
      invalid ??= splitFieldError(info.fields, field);
      splits.split_field = field;
    } else if (splitBy === "views") {
      splits.split_views = splitNames(ctx.params.split_views);
      invalid ??= splitNamesError(splits.split_views as string[], "saved views");
    } else {
      splits.split_tags = splitNames(ctx.params.split_tags ?? "train, test");
      invalid ??= splitNamesError(splits.split_tags as string[], "tags");
    }
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<LeakySplitsResult>({
      method: "compute_leaky_splits",
      params: { embeddings: ctx.params.embeddings ?? embeddingsFields(info.fields)[0], brain_key: brainKey, threshold, metric, ...splits },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Leaky splits queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const r = outcome.result;
    trigger("reload_dataset");
    const after = ctx.params.after_run ?? "show";
    if (r.leakIds.length) {
      if (after === "tag") {
        await callRuntime({ method: "tag_samples", params: { sample_ids: r.leakIds, tag: LEAK_TAG } });
        trigger("reload_samples");
      } else if (after === "show") {
        trigger("set_view", { view: [selectStage(r.leakIds, true)] });
      }
    }
    const sizes = r.splits.map((s, i) => `${s} ${r.splitSizes[i]}`).join(", ");
    const warnings = r.warnings.length ? `. ${r.warnings.join(". ")}` : "";
    trigger("notify", {
      message: `${r.leakIds.length} samples leak between splits (${sizes})${warnings}`,
      variant: r.leakIds.length || r.warnings.length ? "warning" : "success",
    });
    return { brain_key: brainKey, num_leaks: r.leakIds.length };
  }
}

function chosenSplitBy(params: Record<string, unknown>): SplitBy {
  return SPLIT_BY.includes(params.split_by as SplitBy) ? (params.split_by as SplitBy) : "tags";
}
