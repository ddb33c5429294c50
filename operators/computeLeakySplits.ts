import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { LeakySplitsResult } from "../src/runtime/jobs/leakySplits";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addTargetInput } from "./forms";
import { chosenTarget, embeddingsFields, hasSelection, hasView, thresholdError } from "./validation";
import { selectStage } from "./views";

export const LEAK_TAG = "leak";

/** Finds near duplicates across splits (train/test leaks), which the official plugin cannot. */
export class ComputeLeakySplits extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_leaky_splits",
      label: "Brain: find leaks between splits",
      description: "Near duplicates that cross train/test splits given by tags",
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
    if (vectorFields.length === 0) {
      inputs.str("no_embeddings", { label: "This dataset has no embeddings field. Compute embeddings first.", view: new types.Warning(), invalid: true });
      return new types.Property(inputs);
    }
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    const fields = new types.Dropdown({ choices: [] });
    for (const f of vectorFields) fields.addChoice(f, { label: f });
    inputs.enum("embeddings", vectorFields, { label: "Embeddings field", required: true, default: vectorFields[0], view: fields });
    const tags = splitTags(ctx.params.split_tags);
    const tagsError = tags.length >= 2 && new Set(tags).size === tags.length ? null : "Give at least two different tags, separated by commas";
    inputs.str("split_tags", {
      label: "Split tags",
      description: "Sample tags that define the splits, e.g. train, test",
      default: "train, test",
      required: true,
      invalid: tagsError !== null,
      errorMessage: tagsError ?? undefined,
    });
    const error = thresholdError(ctx.params.threshold ?? 0.2, "cosine");
    inputs.float("threshold", { label: "Threshold (cosine distance)", default: 0.2, required: true, invalid: error !== null, errorMessage: error ?? undefined });
    const after = new types.RadioGroup({ choices: [] });
    after.addChoice("show", { label: "Show the leaks in the grid" });
    after.addChoice("tag", { label: `Tag leaks '${LEAK_TAG}'` });
    inputs.enum("after_run", ["show", "tag"], { label: "Then", default: "show", view: after });
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const outcome = await callRuntime<LeakySplitsResult>({
      method: "compute_leaky_splits",
      params: {
        embeddings: ctx.params.embeddings ?? embeddingsFields(info.fields)[0],
        split_tags: splitTags(ctx.params.split_tags ?? "train, test"),
        threshold: ctx.params.threshold ?? 0.2,
        metric: "cosine",
      },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) return { delegated: true };
    const r = outcome.result;
    if (r.leakIds.length) {
      if ((ctx.params.after_run ?? "show") === "tag") {
        await callRuntime({ method: "tag_samples", params: { sample_ids: r.leakIds, tag: LEAK_TAG } });
        trigger("reload_samples");
      } else {
        trigger("set_view", { view: [selectStage(r.leakIds, true)] });
      }
    }
    const sizes = r.splits.map((s, i) => `${s} ${r.splitSizes[i]}`).join(", ");
    trigger("notify", { message: `${r.leakIds.length} samples leak between splits (${sizes})`, variant: r.leakIds.length ? "warning" : "success" });
    return { num_leaks: r.leakIds.length };
  }
}

export function splitTags(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value ?? "").split(",").map((t) => t.trim()).filter(Boolean);
}
