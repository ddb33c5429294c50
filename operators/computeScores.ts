import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { ScoreResult } from "../src/runtime/jobs/scores";
import { callRuntime, Target, trigger } from "./bridge";
import { DatasetInfo, hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addTargetInput } from "./forms";
import {
  chosenTarget,
  embeddingsFields,
  freeKey,
  hasSelection,
  hasView,
  labelFieldsOfType,
  labelTypeOf,
  newScoreFieldError,
} from "./validation";
import { sortByStage } from "./views";

const CLASSIFICATION_TYPES = ["Classification", "Classifications"];

/**
 * Score operators: uniqueness, hardness, mistakenness. Each writes a float field named by
 * the form (also the run's brain key, as in fiftyone-brain), then shows the grid sorted by
 * the new score, highest first.
 */
abstract class ScoreOperator extends Operator {
  protected abstract readonly method: string;
  protected abstract readonly scoreParam: string;
  protected abstract readonly defaultField: string;
  protected abstract readonly title: string;

  useHooks() {
    return { info: useDatasetInfo() };
  }

  /** Adds the method's own inputs; returns false when the dataset cannot run it (then Execute stays disabled). */
  protected abstract addMethodInputs(inputs: types.Object, ctx: ExecutionContext, info: DatasetInfo): boolean;
  protected abstract methodParams(ctx: ExecutionContext, info: DatasetInfo): Record<string, unknown>;

  protected taken(info: DatasetInfo): string[] {
    return [...info.fieldNames, ...info.brainRuns.map((r) => r.key)];
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    if (this.addMethodInputs(inputs, ctx, info)) {
      const fallback = freeKey(this.defaultField, this.taken(info));
      const error = newScoreFieldError(ctx.params[this.scoreParam] ?? fallback, info.fieldNames, info.brainRuns.map((r) => r.key));
      inputs.str(this.scoreParam, {
        label: "Score field",
        description: "A new float field for the scores; it is also the run's brain key",
        required: true,
        default: fallback,
        invalid: error !== null,
        errorMessage: error ?? undefined,
      });
      addDelegateInput(inputs);
    }
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const field = (ctx.params[this.scoreParam] as string | undefined) ?? freeKey(this.defaultField, this.taken(info));
    const error = newScoreFieldError(field, info.fieldNames, info.brainRuns.map((r) => r.key));
    if (error) throw new Error(error);
    const target: Target = chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx));
    const outcome = await callRuntime<ScoreResult>({
      method: this.method,
      params: { ...this.methodParams(ctx, info), [this.scoreParam]: field },
      target,
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `${this.title} queued into '${field}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, field };
    }
    const result = outcome.result;
    trigger("reload_dataset");
    const base = target === "DATASET" ? [] : [...(ctx.view ?? [])];
    trigger("set_view", { view: [...base, sortByStage(field, true)] });
    const skipped = result.numMissing ? `; ${result.numMissing} samples without input got no score` : "";
    trigger("notify", {
      message: `${this.title} of ${result.numScored} samples in '${field}', sorted highest first${skipped}`,
      variant: "success",
    });
    return { field, num_scored: result.numScored, num_missing: result.numMissing, min: result.min, max: result.max };
  }
}

/** A dropdown of field names; a warning (and false) when there is none to choose. */
function addFieldChoice(inputs: types.Object, name: string, label: string, choices: string[], none: string, description?: string): boolean {
  if (choices.length === 0) {
    inputs.str(`no_${name}`, { label: none, view: new types.Warning(), invalid: true });
    return false;
  }
  const view = new types.Dropdown({ choices: [] });
  for (const c of choices) view.addChoice(c, { label: c });
  inputs.enum(name, choices, { label, description, required: true, default: choices[0], view });
  return true;
}

function chosen(ctx: ExecutionContext, name: string, choices: string[]): string | undefined {
  const v = ctx.params[name];
  return typeof v === "string" && choices.includes(v) ? v : choices[0];
}

export class ComputeUniqueness extends ScoreOperator {
  protected readonly method = "compute_uniqueness";
  protected readonly scoreParam = "uniqueness_field";
  protected readonly defaultField = "uniqueness";
  protected readonly title = "Uniqueness";

  get config() {
    return new OperatorConfig({
      name: "compute_uniqueness",
      label: "Brain: compute uniqueness",
      description: "Score how unique each sample is, from the embeddings in a field",
      dynamic: true,
      icon: "auto_awesome",
    });
  }

  protected addMethodInputs(inputs: types.Object, _ctx: ExecutionContext, info: DatasetInfo): boolean {
    return addFieldChoice(
      inputs,
      "embeddings",
      "Embeddings field",
      embeddingsFields(info.fields),
      "This dataset has no embeddings field (a vector or array field)",
      "Precomputed embeddings, one vector per sample; samples without one are skipped",
    );
  }

  protected methodParams(ctx: ExecutionContext, info: DatasetInfo) {
    return { embeddings: chosen(ctx, "embeddings", embeddingsFields(info.fields)) };
  }
}

/** Classification fields of the samples and, for videos, of the frames. */
const hardnessLabelFields = (info: DatasetInfo) => labelFieldsOfType([...info.fields, ...info.frameFields], CLASSIFICATION_TYPES);

export class ComputeHardness extends ScoreOperator {
  protected readonly method = "compute_hardness";
  protected readonly scoreParam = "hardness_field";
  protected readonly defaultField = "hardness";
  protected readonly title = "Hardness";

  get config() {
    return new OperatorConfig({
      name: "compute_hardness",
      label: "Brain: compute hardness",
      description: "Score how hard each sample is for a model: the entropy of its predicted logits",
      dynamic: true,
      icon: "psychology",
    });
  }

  protected addMethodInputs(inputs: types.Object, _ctx: ExecutionContext, info: DatasetInfo): boolean {
    return addFieldChoice(
      inputs,
      "label_field",
      "Predictions field",
      hardnessLabelFields(info),
      "This dataset has no Classification or Classifications field",
      "Classification predictions with logits; a frame field (frames.…) scores every frame, each video its hardest frame",
    );
  }

  protected methodParams(ctx: ExecutionContext, info: DatasetInfo) {
    return { label_field: chosen(ctx, "label_field", hardnessLabelFields(info)) };
  }
}

/** Prediction / ground-truth pairs must be of one type: classifications or objects. */
const OBJECT_TYPES = ["Detections", "Polylines", "Keypoints", "TemporalDetections"];
const MISTAKENNESS_TYPES = [...CLASSIFICATION_TYPES, ...OBJECT_TYPES];

export class ComputeMistakenness extends ScoreOperator {
  protected readonly method = "compute_mistakenness";
  protected readonly scoreParam = "mistakenness_field";
  protected readonly defaultField = "mistakenness";
  protected readonly title = "Mistakenness";

  get config() {
    return new OperatorConfig({
      name: "compute_mistakenness",
      label: "Brain: compute mistakenness",
      description: "Score how likely each ground-truth label is a mistake, from a model's predictions (classifications, detections, polylines, keypoints or temporal detections)",
      dynamic: true,
      icon: "report",
    });
  }

  /** The chosen prediction field, its type, and the ground-truth fields of that type. */
  private choices(ctx: ExecutionContext, info: DatasetInfo) {
    // frame fields of videos too, with their ground truth among the frame fields
    const preds = [...labelFieldsOfType(info.fields, MISTAKENNESS_TYPES), ...labelFieldsOfType(info.frameFields, MISTAKENNESS_TYPES)];
    const pred = chosen(ctx, "pred_field", preds);
    const frames = typeof pred === "string" && pred.startsWith("frames.");
    const candidates = frames ? info.frameFields : info.fields;
    const predType = labelTypeOf(candidates, pred);
    const gts = labelFieldsOfType(candidates, predType ? [predType] : MISTAKENNESS_TYPES).filter((f) => f !== pred);
    return { preds, pred, predType, gts, detections: OBJECT_TYPES.includes(predType ?? "") };
  }

  protected addMethodInputs(inputs: types.Object, ctx: ExecutionContext, info: DatasetInfo): boolean {
    const { preds, predType, gts, detections } = this.choices(ctx, info);
    if (!addFieldChoice(inputs, "pred_field", "Predictions field", preds, "This dataset has no Classification, Classifications, Detections, Polylines, Keypoints or TemporalDetections field")) {
      return false;
    }
    if (!addFieldChoice(inputs, "label_field", "Ground truth field", gts, `No other ${predType ?? "label"} field to use as ground truth`)) {
      return false;
    }
    inputs.bool("use_logits", {
      label: "Use logits",
      description: "Confidence from the entropy of the predicted logits instead of the prediction's confidence (required for Classifications)",
      default: predType === "Classifications",
    });
    if (detections) {
      const existing = [...info.fieldNames, ...info.brainRuns.map((r) => r.key)];
      for (const [name, fallback, label, description] of [
        ["missing_field", "possible_missing", "Missing count field", "Confident unmatched predictions (confidence > 0.95): objects possibly missing from the ground truth"],
        ["spurious_field", "possible_spurious", "Spurious count field", "Unmatched ground-truth objects, possibly spurious"],
      ] as const) {
        const value = ctx.params[name] ?? freeKey(fallback, existing);
        const error = newScoreFieldError(value, info.fieldNames, []);
        inputs.str(name, { label, description, required: true, default: freeKey(fallback, existing), invalid: error !== null, errorMessage: error ?? undefined });
      }
      inputs.bool("copy_missing", {
        label: "Copy missing objects into the ground truth",
        description: "Append the possibly missing predictions to the ground-truth field (undone when the run is deleted)",
        default: false,
      });
    }
    return true;
  }

  protected methodParams(ctx: ExecutionContext, info: DatasetInfo) {
    const { pred, predType, gts, detections } = this.choices(ctx, info);
    const existing = [...info.fieldNames, ...info.brainRuns.map((r) => r.key)];
    return {
      pred_field: pred,
      label_field: chosen(ctx, "label_field", gts),
      use_logits: Boolean(ctx.params.use_logits ?? predType === "Classifications"),
      ...(detections
        ? {
            missing_field: (ctx.params.missing_field as string | undefined) ?? freeKey("possible_missing", existing),
            spurious_field: (ctx.params.spurious_field as string | undefined) ?? freeKey("possible_spurious", existing),
            copy_missing: Boolean(ctx.params.copy_missing),
          }
        : {}),
    };
  }
}

const REPRESENTATIVENESS_METHODS = ["cluster-center", "cluster-center-downweight"];

export class ComputeRepresentativeness extends ScoreOperator {
  protected readonly method = "compute_representativeness";
  protected readonly scoreParam = "representativeness_field";
  protected readonly defaultField = "representativeness";
  protected readonly title = "Representativeness";

  get config() {
    return new OperatorConfig({
      name: "compute_representativeness",
      label: "Brain: compute representativeness",
      description: "Rank samples by their distance to their k-means cluster's center, from the embeddings in a field",
      dynamic: true,
      icon: "hub",
    });
  }

  protected addMethodInputs(inputs: types.Object, _ctx: ExecutionContext, info: DatasetInfo): boolean {
    if (
      !addFieldChoice(
        inputs,
        "embeddings",
        "Embeddings field",
        embeddingsFields(info.fields),
        "This dataset has no embeddings field (a vector or array field)",
        "Precomputed embeddings, one vector per sample (at least 20); samples without one are skipped",
      )
    ) {
      return false;
    }
    const view = new types.Dropdown({ choices: [] });
    view.addChoice("cluster-center", { label: "cluster-center", description: "Distance to the cluster's center, over the cluster's largest" });
    view.addChoice("cluster-center-downweight", {
      label: "cluster-center-downweight",
      description: "The same, with points within 0.5 of a higher-ranked point scaled by 0.7",
    });
    inputs.enum("method", REPRESENTATIVENESS_METHODS, {
      label: "Method",
      description: "As fiftyone-brain: 0 = on its cluster's center, 1 = its cluster's farthest point",
      default: "cluster-center",
      required: true,
      view,
    });
    return true;
  }

  protected methodParams(ctx: ExecutionContext, info: DatasetInfo) {
    return {
      embeddings: chosen(ctx, "embeddings", embeddingsFields(info.fields)),
      method: chosen(ctx, "method", REPRESENTATIVENESS_METHODS),
    };
  }
}
