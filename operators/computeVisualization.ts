import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { VisualizationResult } from "../src/runtime/jobs/visualization";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addNewBrainKeyInput, addNoEmbeddingsWarning, addTargetInput } from "./forms";
import { chosenTarget, embeddingsFields, freeKey, hasSelection, hasView, labelFieldsOfType, newBrainKeyError, newFieldError } from "./validation";
import {
  chosenMethod, METHOD_LABELS, numberParamError, PATCH_LABEL_TYPES, pointsFieldName, seedError, labelPointsError, shownParams, VISUALIZATION_METHODS, visualizationFormError, visualizationRuntimeParams,
} from "./visualizationParams";

/**
 * Computes a 2-D or 3-D visualization of an embeddings field (UMAP, t-SNE, PCA) or stores
 * manual points, as a brain run that our Embeddings panel and the App's built-in one plot.
 */
export class ComputeVisualization extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_visualization",
      label: "Brain: compute visualization",
      description: "Lay out the samples' embeddings in 2-D or 3-D with UMAP, t-SNE or PCA",
      dynamic: true,
      icon: "scatter_plot",
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

    const methods = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    for (const m of VISUALIZATION_METHODS) methods.addChoice(m, { label: METHOD_LABELS[m] });
    inputs.enum("method", VISUALIZATION_METHODS, { label: "Method", default: "umap", required: true, view: methods });
    const method = chosenMethod(ctx.params.method);

    const fieldChoice = (name: string, label: string, description: string) => {
      const view = new types.Dropdown({ choices: [] });
      for (const f of vectorFields) view.addChoice(f, { label: f });
      inputs.enum(name, vectorFields, { label, description, required: true, default: vectorFields[0], view });
    };
    if (method === "manual") {
      fieldChoice("manual_points", "Points field", "A field holding each sample's 2-D or 3-D point; samples without one are skipped");
    } else {
      const patchFields = labelFieldsOfType(info.fields, PATCH_LABEL_TYPES);
      const usePatches = Boolean(ctx.params.use_patches) && patchFields.length > 0;
      if (patchFields.length > 0) {
        inputs.bool("use_patches", { label: "Patches", description: "One point per object (label) instead of per sample", default: false });
      }
      if (usePatches) {
        const view = new types.Dropdown({ choices: [] });
        for (const f of patchFields) view.addChoice(f, { label: f });
        inputs.enum("patches_field", patchFields, { label: "Patches field", required: true, default: patchFields[0], view });
        const error = visualizationFormError({ ...ctx.params, method });
        inputs.str("patch_embeddings", {
          label: "Embedding attribute",
          description: "The attribute of each label that holds its embedding; labels without one are skipped and counted",
          required: true,
          default: "embedding",
          invalid: error !== null && /attribute/.test(error),
          errorMessage: error ?? undefined,
        });
      } else {
        fieldChoice("embeddings", "Embeddings field", "One vector per sample; samples without one are skipped and counted");
      }
      const dims = new types.RadioGroup({ choices: [], orientation: "horizontal" });
      dims.addChoice("2", { label: "2-D" });
      dims.addChoice("3", { label: "3-D" });
      inputs.enum("num_dims", ["2", "3"], { label: "Dimensions", default: "2", view: dims });
      if (method === "tsne") {
        inputs.bool("auto_learning_rate", {
          label: "Automatic learning rate",
          description: "Scale the learning rate with the number of samples (scikit-learn's 'auto': n / 48, at least 50); better for large datasets than the fixed 200",
          default: false,
        });
      }
      for (const p of shownParams(method, ctx.params)) {
        const error = numberParamError(p, ctx.params[p.name]);
        const options = { label: p.label, description: p.description, default: p.default, invalid: error !== null, errorMessage: error ?? undefined };
        if (p.integer) inputs.int(p.name, options);
        else inputs.float(p.name, options);
      }
      if (method === "umap") {
        const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
        metrics.addChoice("euclidean", { label: "Euclidean" });
        metrics.addChoice("cosine", { label: "Cosine" });
        inputs.enum("metric", ["euclidean", "cosine"], { label: "Distance", default: "euclidean", view: metrics });
      }
      if (!usePatches && Number(ctx.params.num_dims ?? 2) === 2) {
        inputs.bool("create_index", {
          label: "Spatial index",
          description: "Also store the points in a sample field with a database index, so lasso selections in the App's Embeddings panel are queries (large datasets)",
          default: false,
        });
        if (ctx.params.create_index) {
          const error = newFieldError(pointsFieldName(ctx.params, ctx.params.brain_key ?? freeKey(method, keys)), info.fieldNames);
          inputs.str("points_field", {
            label: "Points field",
            description: "New field for each sample's [x, y] (default: the brain key)",
            invalid: error !== null,
            errorMessage: error ?? undefined,
          });
        }
      }
      if (usePatches && Number(ctx.params.num_dims ?? 2) === 2) {
        const error = labelPointsError(ctx.params.points_field);
        inputs.str("points_field", {
          label: "Points attribute",
          description: "Optional: also store each label's [x, y] in this new attribute of the labels",
          invalid: error !== null,
          errorMessage: error ?? undefined,
        });
      }
      if (method !== "pca") {
        const error = seedError(ctx.params.seed);
        inputs.int("seed", {
          label: "Seed",
          description: method === "umap" ? "The same seed gives the same layout; empty for a random one" : "t-SNE here is deterministic; the seed is recorded with the run",
          invalid: error !== null,
          errorMessage: error ?? undefined,
        });
      }
    }
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey(method === "manual" ? "visualization" : method, keys));
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const method = chosenMethod(ctx.params.method);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey(method === "manual" ? "visualization" : method, keys);
    const params: Record<string, unknown> = { ...ctx.params, num_dims: ctx.params.num_dims === undefined ? undefined : Number(ctx.params.num_dims) };
    const invalid =
      newBrainKeyError(brainKey, keys) ??
      visualizationFormError(params) ??
      (params.create_index && method !== "manual" ? newFieldError(pointsFieldName(params, brainKey), info.fieldNames) : null);
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<VisualizationResult>({
      method: "compute_visualization",
      params: visualizationRuntimeParams(params, brainKey, embeddingsFields(info.fields)[0]),
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Visualization queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const result = outcome.result;
    trigger("reload_dataset");
    const what = ctx.params.use_patches ? "patches" : "samples";
    const skipped = result.numMissing ? `; ${result.numMissing} ${what} without embeddings skipped` : "";
    trigger("notify", {
      message: `${METHOD_LABELS[result.method]} visualization '${brainKey}' of ${result.numPoints} ${what} in ${result.numDims}-D${skipped}. Open it in the Embeddings panel.`,
      variant: result.numMissing ? "warning" : "success",
    });
    return { brain_key: brainKey, method: result.method, num_points: result.numPoints, num_missing: result.numMissing };
  }
}
