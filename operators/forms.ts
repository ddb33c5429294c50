import { types } from "@fiftyone/operators";
import { validateBrainKey } from "../src/errors";
import { Target } from "./bridge";

/**
 * Form building blocks shared by the operators, and the pure checks behind them
 * (unit-tested): the form says what is wrong before Execute.
 */

export function newBrainKeyError(key: unknown, existing: readonly string[]): string | null {
  const invalid = validateBrainKey(key);
  if (invalid) return invalid;
  if (existing.includes(key as string)) return `A brain run with key '${key}' already exists`;
  return null;
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function newFieldError(name: unknown, existing: readonly string[]): string | null {
  if (name === undefined || name === null || name === "") return null; // optional
  if (typeof name !== "string" || !FIELD_NAME.test(name)) return `Invalid field name '${String(name)}': use letters, digits and _`;
  if (existing.includes(name)) return `Field '${name}' already exists`;
  return null;
}

/** Picks a free default key: `base`, then `base_2`, `base_3`, ... */
export function freeKey(base: string, existing: readonly string[]): string {
  if (!existing.includes(base)) return base;
  for (let i = 2; ; i++) if (!existing.includes(`${base}_${i}`)) return `${base}_${i}`;
}

export function defaultTarget(hasSelection: boolean, hasView: boolean): Target {
  if (hasSelection) return "SELECTED_SAMPLES";
  return hasView ? "CURRENT_VIEW" : "DATASET";
}

export function chosenTarget(params: Record<string, unknown>, hasSelection: boolean, hasView: boolean): Target {
  const value = params.target;
  if (value === "DATASET" || value === "CURRENT_VIEW" || value === "SELECTED_SAMPLES") return value;
  return defaultTarget(hasSelection, hasView);
}

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

/** Existing brain run keys of a dataset, for choosing or validating keys. */
export interface BrainRunRef {
  key: string;
  cls: string;
  type: string | null;
  method: string | null;
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

export function chosenBrainKey(params: Record<string, unknown>, name: string, runs: readonly BrainRunRef[]): string {
  const value = params[name];
  if (typeof value === "string" && value) return value;
  if (runs.length === 0) throw new Error("This dataset has no brain runs");
  return runs[0].key;
}

/** The App passes the selection as a Map (id -> selection style), older Apps as a Set. */
export function hasSelection(ctx: { selectedSamples?: { size: number } | null }): boolean {
  return (ctx.selectedSamples?.size ?? 0) > 0;
}

export function hasView(ctx: { view?: unknown[] | null }): boolean {
  return (ctx.view?.length ?? 0) > 0;
}
