import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { ExactDuplicatesResult } from "../src/runtime/jobs/exactDuplicates";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addNewBrainKeyInput, addTargetInput } from "./forms";
import { chosenTarget, freeKey, hasSelection, hasView, newBrainKeyError, newFieldError } from "./validation";
import { addAfterRunInput, applyAfterRun } from "./duplicateResults";

/** Finds byte-identical media (a content hash per file) and records the groups as a brain run. */
export class ComputeExactDuplicates extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_exact_duplicates",
      label: "Brain: find exact duplicates",
      description: "Group samples whose media files are byte-identical",
      dynamic: true,
      icon: "content_copy",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const inputs = new types.Object();
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey("exact_duplicates", keys));
    const fieldError = newFieldError(ctx.params.output_field, info.fieldNames);
    inputs.str("output_field", {
      label: "Group field (optional)",
      description: "A new string field that holds, on every duplicate, the id of its group's first sample",
      invalid: fieldError !== null,
      errorMessage: fieldError ?? undefined,
    });
    inputs.bool("skip_failures", {
      label: "Skip unreadable files",
      description: "Count and report files that cannot be read instead of stopping the run",
      default: true,
    });
    addAfterRunInput(inputs);
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey("exact_duplicates", info.brainRuns.map((r) => r.key));
    const invalid = newBrainKeyError(brainKey, info.brainRuns.map((r) => r.key));
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<ExactDuplicatesResult>({
      method: "compute_exact_duplicates",
      params: {
        brain_key: brainKey,
        output_field: ctx.params.output_field || undefined,
        skip_failures: ctx.params.skip_failures ?? true,
      },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Exact duplicates queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const result = outcome.result;
    await applyAfterRun(ctx.params.after_run, result.duplicates);
    const failures = result.numFailures ? `; ${result.numFailures} unreadable files skipped` : "";
    trigger("notify", {
      message: `${result.numDuplicates} duplicates in ${result.numGroups} groups among ${result.numSamples} samples${failures}`,
      variant: result.numFailures ? "warning" : "success",
    });
    return {
      brain_key: brainKey,
      num_samples: result.numSamples,
      num_groups: result.numGroups,
      num_duplicates: result.numDuplicates,
      num_failures: result.numFailures,
    };
  }
}
