import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { NearDuplicatesResult } from "../src/runtime/jobs/nearDuplicates";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addAfterRunInput, applyAfterRun } from "./duplicateResults";
import { addDelegateInput, addEmbeddingsFieldInput, addNewBrainKeyInput, addNoEmbeddingsWarning, addTargetInput } from "./forms";
import { chosenTarget, embeddingsFields, freeKey, hasSelection, hasView, newBrainKeyError, thresholdError, thresholdWarning } from "./validation";

/** Finds near duplicates from an embeddings field, with the reference's threshold semantics. */
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
    if (vectorFields.length === 0) return addNoEmbeddingsWarning(inputs);
    const keys = info.brainRuns.map((r) => r.key);
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    addEmbeddingsFieldInput(inputs, vectorFields);
    const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    metrics.addChoice("cosine", { label: "Cosine" });
    metrics.addChoice("euclidean", { label: "Euclidean" });
    inputs.enum("metric", ["cosine", "euclidean"], { label: "Distance", default: "cosine", view: metrics });
    const threshold = ctx.params.threshold ?? 0.2;
    const error = thresholdError(threshold, (ctx.params.metric as string | undefined) ?? "cosine");
    inputs.float("threshold", {
      label: "Threshold",
      description: "Samples within this distance of an earlier kept sample are duplicates (cosine: 0.1–0.25 usually works)",
      default: 0.2,
      required: true,
      invalid: error !== null,
      errorMessage: error ?? undefined,
    });
    const warning = thresholdWarning(threshold, (ctx.params.metric as string | undefined) ?? "cosine");
    if (warning) inputs.str("threshold_warning", { label: warning, view: new types.Warning() });
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey("near_duplicates", keys));
    addAfterRunInput(inputs);
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey("near_duplicates", keys);
    const metric = (ctx.params.metric as string | undefined) ?? "cosine";
    const threshold = ctx.params.threshold ?? 0.2;
    const invalid = newBrainKeyError(brainKey, keys) ?? thresholdError(threshold, metric);
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<NearDuplicatesResult>({
      method: "compute_near_duplicates",
      params: { brain_key: brainKey, embeddings: ctx.params.embeddings ?? embeddingsFields(info.fields)[0], metric, threshold },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Near duplicates queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const result = outcome.result;
    await applyAfterRun(ctx.params.after_run, result.duplicates);
    const missing = result.numMissing ? `; ${result.numMissing} samples without embeddings skipped` : "";
    trigger("notify", {
      message: `${result.duplicateIds.length} near duplicates of ${Object.keys(result.duplicates).length} samples among ${result.numSamples}${missing}`,
      variant: result.numMissing ? "warning" : "success",
    });
    return { brain_key: brainKey, num_samples: result.numSamples, num_duplicates: result.duplicateIds.length };
  }
}
