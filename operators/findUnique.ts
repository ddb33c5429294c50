import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { FindUniqueResult } from "../src/runtime/jobs/findUnique";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addEmbeddingsFieldInput, addNoEmbeddingsWarning, addTargetInput } from "./forms";
import { chosenTarget, embeddingsFields, hasSelection, hasView, uniqueTargetError } from "./validation";
import { selectStage } from "./views";

export const UNIQUE_TAG = "unique";

/**
 * find_unique (spec §6.4): the N (or all but a fraction) most mutually distant samples,
 * by the reference's search on the near-duplicate threshold.
 */
export class FindUnique extends Operator {
  get config() {
    return new OperatorConfig({
      name: "find_unique",
      label: "Brain: find unique samples",
      description: "Keep N samples (or drop a fraction) so that the kept ones are as far apart as possible",
      dynamic: true,
      icon: "auto_awesome_motion",
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
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    addEmbeddingsFieldInput(inputs, vectorFields);
    const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    metrics.addChoice("cosine", { label: "Cosine" });
    metrics.addChoice("euclidean", { label: "Euclidean" });
    inputs.enum("metric", ["cosine", "euclidean"], { label: "Distance", default: "cosine", view: metrics });
    const modes = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    modes.addChoice("count", { label: "Number of samples to keep" });
    modes.addChoice("fraction", { label: "Fraction to drop" });
    inputs.enum("mode", ["count", "fraction"], { label: "Ask for", default: "count", view: modes });
    const mode = (ctx.params.mode as string | undefined) ?? "count";
    if (mode === "fraction") {
      const error = uniqueTargetError("fraction", ctx.params.fraction ?? 0.1);
      inputs.float("fraction", { label: "Fraction of samples to drop as duplicates", default: 0.1, required: true, invalid: error !== null, errorMessage: error ?? undefined });
    } else {
      const error = uniqueTargetError("count", ctx.params.count ?? 100);
      inputs.int("count", { label: "Unique samples to keep", default: 100, required: true, invalid: error !== null, errorMessage: error ?? undefined });
    }
    const after = new types.RadioGroup({ choices: [] });
    after.addChoice("show", { label: "Show the unique samples in the grid" });
    after.addChoice("tag", { label: `Tag them '${UNIQUE_TAG}'` });
    inputs.enum("after_run", ["show", "tag"], { label: "Then", default: "show", view: after });
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const mode = (ctx.params.mode as string | undefined) ?? "count";
    const value = mode === "fraction" ? ctx.params.fraction ?? 0.1 : ctx.params.count ?? 100;
    const invalid = uniqueTargetError(mode, value);
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<FindUniqueResult>({
      method: "find_unique",
      params: {
        embeddings: ctx.params.embeddings ?? embeddingsFields(info.fields)[0],
        metric: ctx.params.metric ?? "cosine",
        [mode === "fraction" ? "fraction" : "count"]: Number(value),
      },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) return { delegated: true };
    const r = outcome.result;
    if ((ctx.params.after_run ?? "show") === "tag") {
      await callRuntime({ method: "tag_samples", params: { sample_ids: r.uniqueIds, tag: UNIQUE_TAG } });
      trigger("reload_dataset");
    } else {
      trigger("set_view", { view: [selectStage(r.uniqueIds, false)] });
    }
    const reached = r.uniqueIds.length === r.requested ? "" : ` (no threshold keeps exactly ${r.requested})`;
    const at = r.threshold === null ? "" : ` at threshold ${r.threshold.toPrecision(4)}`;
    trigger("notify", { message: `${r.uniqueIds.length} unique samples of ${r.numSamples}${at}${reached}`, variant: reached ? "warning" : "success" });
    return { num_unique: r.uniqueIds.length, threshold: r.threshold };
  }
}
