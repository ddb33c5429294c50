import { types } from "@fiftyone/operators";
import { BrainRunRef, defaultTarget, newBrainKeyError } from "./validation";

/** Form building blocks shared by the operators; the checks behind them are in validation.ts. */

/** The target-view radio, as FiftyOne's own operators offer it. */
export function addTargetInput(inputs: types.Object, hasSelection: boolean, hasView: boolean): void {
  const choices = new types.RadioGroup({ choices: [], orientation: "horizontal" });
  choices.addChoice("DATASET", { label: "Entire dataset", description: "Run on every sample of the dataset" });
  if (hasView) choices.addChoice("CURRENT_VIEW", { label: "Current view", description: "Run on the samples of the current view" });
  if (hasSelection) choices.addChoice("SELECTED_SAMPLES", { label: "Selected samples", description: "Run on the selected samples" });
  inputs.enum("target", ["DATASET", "CURRENT_VIEW", "SELECTED_SAMPLES"], {
    label: "Target view",
    default: defaultTarget(hasSelection, hasView),
    required: true,
    view: choices,
  });
}

/** A required new brain key, marked invalid (Execute disabled) with the reason. */
export function addNewBrainKeyInput(inputs: types.Object, name: string, value: unknown, existing: readonly string[], fallback: string): void {
  const key = value ?? fallback;
  const error = newBrainKeyError(key, existing);
  inputs.str(name, {
    label: "Brain key",
    description: "The key the run is stored under (a valid Python identifier, new on this dataset)",
    required: true,
    default: fallback,
    invalid: error !== null,
    errorMessage: error ?? undefined,
  });
}

export function addDelegateInput(inputs: types.Object): void {
  inputs.bool("delegate", {
    label: "Delegate",
    description: "Queue the run for a `fiftyone delegated launch` worker instead of running it now",
    default: false,
  });
}

export function addExistingBrainKeyInput(
  inputs: types.Object,
  name: string,
  runs: readonly BrainRunRef[],
  label = "Brain run",
): boolean {
  if (runs.length === 0) {
    inputs.str("no_runs", { label: "This dataset has no brain runs", view: new types.Warning(), invalid: true });
    return false;
  }
  const choices = new types.Dropdown({ choices: [] });
  for (const run of runs) choices.addChoice(run.key, { label: run.key, description: run.method ?? run.type ?? run.cls });
  inputs.enum(name, runs.map((r) => r.key), { label, required: true, default: runs[0].key, view: choices });
  return true;
}

/** The form's stop sign when the dataset has no vector field to read embeddings from. */
/** The default embedding model's zoo name (the runtime's offline MobileNetV2). */
export const DEFAULT_MODEL = "mobilenet_v2_nsfwjs";

export function addNoEmbeddingsWarning(inputs: types.Object): types.Property {
  inputs.str("no_embeddings", {
    label: "This dataset has no embeddings field. Compute embeddings first (a VectorField or ArrayField).",
    view: new types.Warning(),
    invalid: true,
  });
  return new types.Property(inputs);
}

/** The `embeddings` choice among the dataset's vector fields (the first by default). */
export function addEmbeddingsFieldInput(inputs: types.Object, vectorFields: string[]): void {
  const fields = new types.Dropdown({ choices: [] });
  for (const f of vectorFields) fields.addChoice(f, { label: f });
  inputs.enum("embeddings", vectorFields, { label: "Embeddings field", required: true, default: vectorFields[0], view: fields });
}
