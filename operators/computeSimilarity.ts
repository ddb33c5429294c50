import { ExecutionContext, Operator, OperatorConfig, types } from "@fiftyone/operators";
import type { ComputeSimilarityResult } from "../src/runtime/jobs/similarity";
import { callRuntime, trigger } from "./bridge";
import { hooksInfo, useDatasetInfo } from "./datasetInfo";
import { addDelegateInput, addEmbeddingsFieldInput, addNewBrainKeyInput, addNoEmbeddingsWarning, addTargetInput } from "./forms";
import { computeSimilarityParams, offeredBackends } from "./similarityParams";
import { chosenTarget, embeddingsFields, freeKey, hasSelection, hasView, labelFieldsOfType, newBrainKeyError } from "./validation";

/** Builds a similarity index from an embeddings field, with the backend's own parameters. */
export class ComputeSimilarity extends Operator {
  get config() {
    return new OperatorConfig({
      name: "compute_similarity",
      label: "Brain: compute similarity index",
      description: "Index embeddings so samples (or patches) can be sorted by similarity",
      dynamic: true,
      icon: "search",
    });
  }

  useHooks() {
    return { info: useDatasetInfo() };
  }

  async resolveInput(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const inputs = new types.Object();
    const vectorFields = embeddingsFields(info.fields);
    const patchFields = labelFieldsOfType(info.fields, ["Detections", "Polylines", "Keypoints"]);
    if (vectorFields.length === 0 && patchFields.length === 0) return addNoEmbeddingsWarning(inputs);
    const keys = info.brainRuns.map((r) => r.key);
    addTargetInput(inputs, hasSelection(ctx), hasView(ctx));
    if (patchFields.length) {
      const patches = new types.Dropdown({ choices: [] });
      for (const f of patchFields) patches.addChoice(f, { label: f });
      inputs.enum("patches_field", patchFields, {
        label: "Patches field (optional)",
        description: "Index the objects of this field; their embeddings are an attribute of each label",
        view: patches,
      });
    }
    if (ctx.params.patches_field) {
      inputs.str("embeddings", { label: "Label attribute with embeddings", required: true, default: "embedding" });
    } else {
      addEmbeddingsFieldInput(inputs, vectorFields);
    }
    const backends = offeredBackends();
    const backendChoice = new types.Dropdown({ choices: [] });
    for (const b of backends) backendChoice.addChoice(b.name, { label: b.label, description: b.description });
    inputs.enum("backend", backends.map((b) => b.name), { label: "Backend", required: true, default: backends[0].name, view: backendChoice });
    const backend = backends.find((b) => b.name === ctx.params.backend) ?? backends[0];
    inputs.str(`${backend.name}_header`, { label: backend.label, description: backend.description, view: new types.Header() });
    const metrics = new types.RadioGroup({ choices: [], orientation: "horizontal" });
    for (const m of backend.metrics) metrics.addChoice(m, { label: m === "dotproduct" ? "Dot product" : m[0].toUpperCase() + m.slice(1) });
    inputs.enum(`${backend.name}_metric`, backend.metrics, { label: "Metric", default: backend.defaultMetric, view: metrics });
    for (const p of backend.params) {
      const options = { label: p.label, description: p.description, default: p.default };
      if (p.type === "integer") inputs.int(`${backend.name}_${p.name}`, options);
      else if (p.type === "number") inputs.float(`${backend.name}_${p.name}`, options);
      else if (p.type === "boolean") inputs.bool(`${backend.name}_${p.name}`, options);
      else inputs.str(`${backend.name}_${p.name}`, options);
    }
    addNewBrainKeyInput(inputs, "brain_key", ctx.params.brain_key, keys, freeKey("similarity", keys));
    addDelegateInput(inputs);
    return new types.Property(inputs);
  }

  async execute(ctx: ExecutionContext) {
    const info = hooksInfo(ctx.hooks);
    const keys = info.brainRuns.map((r) => r.key);
    const brainKey = (ctx.params.brain_key as string | undefined) ?? freeKey("similarity", keys);
    const invalid = newBrainKeyError(brainKey, keys);
    if (invalid) throw new Error(invalid);
    const params = computeSimilarityParams({ ...ctx.params, brain_key: brainKey, embeddings: ctx.params.embeddings ?? embeddingsFields(info.fields)[0] });
    const outcome = await callRuntime<ComputeSimilarityResult>({
      method: "compute_similarity",
      params,
      target: chosenTarget(ctx.params, hasSelection(ctx), hasView(ctx)),
      delegate: Boolean(ctx.params.delegate),
    });
    if (outcome.delegated) {
      trigger("notify", { message: `Similarity index queued as '${brainKey}': run \`fiftyone delegated launch\``, variant: "info" });
      return { delegated: true, brain_key: brainKey };
    }
    const r = outcome.result;
    trigger("reload_dataset");
    const missing = r.num_missing ? `; ${r.num_missing} without embeddings skipped` : "";
    trigger("notify", { message: `Index '${brainKey}' (${r.backend}, ${r.metric}): ${r.size} embeddings of dimension ${r.dim}${missing}`, variant: "success" });
    return { brain_key: brainKey, size: r.size };
  }
}
