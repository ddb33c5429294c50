import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { ComputeEmbeddingsResult } from "../src/runtime/jobs/computeEmbeddings";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addTargetInput, DEFAULT_MODEL } from "./forms";
import { chosenTarget, freeKey, hasSelection, hasView, newFieldError } from "./validation";

const OTHER_MODEL = "__other__";
const PATCH_TYPES = ["Detection", "Detections", "Polyline", "Polylines"];

/** Embeds images with the default model (offline, ONNX) into a new vector field. */
export class ComputeEmbeddings extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_embeddings",
      label: "Brain: compute embeddings",
      description: "Embed each image with a model and store the vectors in a new field",
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
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    const fallback = freeKey("embeddings", info.fieldNames);
    const error = newFieldError(ctx.params.embeddings_field ?? fallback, info.fieldNames);
    inputs.str("embeddings_field", {
      label: "Embeddings field",
      description: "A new field that will hold each sample's vector",
      default: fallback,
      required: true,
      invalid: error !== null,
      errorMessage: error ?? undefined,
    });
    const models = new types.Dropdown({ choices: [] });
    models.addChoice(DEFAULT_MODEL, { label: "MobileNetV2 (nsfwjs, 1280-d, offline)", description: "Bundled with the plugin" });
    models.addChoice(OTHER_MODEL, { label: "Another model…", description: "A zoo name, an ONNX file's path or an http(s) URL" });
    inputs.enum("model", [DEFAULT_MODEL, OTHER_MODEL], { label: "Model", default: DEFAULT_MODEL, required: true, view: models });
    if (ctx.params.model === OTHER_MODEL) {
      inputs.str("model_ref", {
        label: "Model name, path or URL",
        description: "A name from the model zoo, or an ONNX file (path or http(s) URL) with its manifest <name>.json next to it; downloads are cached and sha256-checked",
        required: true,
      });
    }
    const patchFields = info.fields.filter((f) => PATCH_TYPES.includes((f.embeddedDocType ?? "").split(".").pop() ?? "")).map((f) => f.name);
    if (patchFields.length > 0) {
      inputs.enum("patches_field", patchFields, {
        label: "Object patches (optional)",
        description: "Embed each object of this Detections/Polylines field instead of whole images; the vectors are stored on the labels under the field name above",
      });
      if (ctx.params.patches_field) {
        inputs.float("alpha", { label: "Box expansion (alpha)", description: "Grow each box by 100·alpha % (0.1 = 10%); negative shrinks" });
        inputs.bool("force_square", { label: "Square patches", default: false });
      }
    }
    inputs.int("batch_size", { label: "Batch size", default: 16 });
    inputs.bool("skip_failures", { label: "Skip unreadable images", description: "Count and report them instead of stopping", default: true });
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const field = (ctx.params.embeddings_field as string | undefined) ?? freeKey("embeddings", info.fieldNames);
    const invalid = newFieldError(field, info.fieldNames);
    if (invalid) throw new Error(invalid);
    const outcome = await callRuntime<ComputeEmbeddingsResult>({
      method: "compute_embeddings",
      params: {
        embeddings_field: field,
        model: ctx.params.model === OTHER_MODEL ? ctx.params.model_ref : (ctx.params.model ?? DEFAULT_MODEL),
        ...(ctx.params.patches_field
          ? { patches_field: ctx.params.patches_field, alpha: ctx.params.alpha ?? undefined, force_square: ctx.params.force_square ?? false }
          : {}),
        batch_size: ctx.params.batch_size ?? 16,
        skip_failures: ctx.params.skip_failures ?? true,
      },
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Embeddings queued into '${field}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, field };
    }
    const r = outcome.result;
    trigger("reload_dataset");
    const what = r.labelPath ? "objects" : "images";
    const failures = r.numFailures ? `; ${r.numFailures} ${what} could not be embedded` : "";
    trigger("notify", { message: `Embedded ${r.numEmbedded} ${what} of ${r.numSamples} samples into '${r.labelPath ?? r.field}'${failures}`, variant: r.numFailures ? "warning" : "success" });
    return { field: r.field, num_embedded: r.numEmbedded, num_failures: r.numFailures };
  }
}
