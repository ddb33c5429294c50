import { validateBrainKey } from "../src/errors";
import type { Target } from "./bridge";
import { splitFieldTypeError } from "../src/fiftyone/splitFieldTypes";
import { similarityRuns } from "./similarityParams";

/**
 * The checks behind the operators' forms, pure so they are unit-tested: the form says
 * what is wrong before Execute.
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

/** The App passes the selection as a Map (id -> selection style), older Apps as a Set. */
export function hasSelection(ctx: { selectedSamples?: { size: number } | null }): boolean {
  return (ctx.selectedSamples?.size ?? 0) > 0;
}

export function hasView(ctx: { view?: unknown[] | null }): boolean {
  return (ctx.view?.length ?? 0) > 0;
}

/** Existing brain run keys of a dataset, for choosing or validating keys. */
export interface BrainRunRef {
  key: string;
  cls: string;
  type: string | null;
  method: string | null;
  /** Similarity runs: the patches field of a patch index. */
  patchesField?: string | null;
}

export function chosenBrainKey(params: Record<string, unknown>, name: string, runs: readonly BrainRunRef[]): string {
  const value = params[name];
  if (typeof value === "string" && value) return value;
  if (runs.length === 0) throw new Error("This dataset has no brain runs");
  return runs[0].key;
}


/** A near-duplicate threshold is a distance of the metric: cosine distances lie in [0, 2]. */
export function thresholdError(value: unknown, metric: string): string | null {
  const t = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(t) || t <= 0) return "The threshold must be a positive distance";
  if (metric === "cosine" && t > 2) return "Cosine distances are at most 2: every sample would be a duplicate";
  return null;
}

/** A sample field as the App's dataset state describes it. */
export interface FieldRef {
  name: string;
  ftype: string;
  embeddedDocType?: string | null;
  subfield?: string | null;
}

const EMBEDDED_DOC = "fiftyone.core.fields.EmbeddedDocumentField";
// Lists are left out: the App's schema does not say what a list holds (tags are a list too).
const VECTOR_FTYPES = ["fiftyone.core.fields.VectorField", "fiftyone.core.fields.ArrayField"];

/** Label fields of the given classes (e.g. `Classification`), by name. */
export function labelFieldsOfType(fields: readonly FieldRef[], types: readonly string[]): string[] {
  return fields
    .filter((f) => f.ftype === EMBEDDED_DOC && types.some((t) => f.embeddedDocType === `fiftyone.core.labels.${t}`))
    .map((f) => f.name)
    .sort();
}

/** The label class of a field (`Classification`, ...) or null. */
export function labelTypeOf(fields: readonly FieldRef[], name: unknown): string | null {
  const f = fields.find((x) => x.name === name);
  if (!f || f.ftype !== EMBEDDED_DOC || !f.embeddedDocType?.startsWith("fiftyone.core.labels.")) return null;
  return f.embeddedDocType.slice("fiftyone.core.labels.".length);
}

/** Fields that hold embeddings: vectors and arrays. */
export function embeddingsFields(fields: readonly FieldRef[]): string[] {
  return fields.filter((f) => VECTOR_FTYPES.includes(f.ftype)).map((f) => f.name).sort();
}

/**
 * A score field is also the run's brain key (as in fiftyone-brain), so it must be a valid
 * key, and the form asks for a new one: no field and no run by that name.
 */
export function newScoreFieldError(name: unknown, fieldNames: readonly string[], runKeys: readonly string[]): string | null {
  if (typeof name !== "string" || !name) return "A field name is required";
  if (validateBrainKey(name)) {
    return `Invalid field name '${name}': it is also the run's brain key, so use a Python identifier (letters, digits and _, not starting with a digit)`;
  }
  if (fieldNames.includes(name as string)) return `Field '${name}' already exists`;
  if (runKeys.includes(name as string)) return `A brain run with key '${name}' already exists`;
  return null;
}

/**
 * A threshold that is valid but probably not meant: cosine distances above 1 are between
 * samples less alike than unrelated ones, so most samples would count as duplicates.
 */
export function thresholdWarning(value: unknown, metric: string): string | null {
  const t = typeof value === "number" ? value : Number(value);
  if (thresholdError(t, metric) !== null) return null;
  if (metric === "cosine" && t > 1) return `A cosine threshold of ${t} groups samples less alike than unrelated ones: most samples will be duplicates (0.1–0.25 usually works)`;
  return null;
}

/** Split names (tags or saved views) typed as a comma-separated list. */
export function splitNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).map((t) => t.trim()).filter(Boolean);
  return String(value ?? "").split(",").map((t) => t.trim()).filter(Boolean);
}

/** At least two different names, each of which exists when the known ones are given. */
export function splitNamesError(names: readonly string[], what: "tags" | "saved views", known?: readonly string[]): string | null {
  if (names.length < 2) return `Give at least two different ${what}, separated by commas`;
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length) return `${repeated.map((r) => `'${r}'`).join(", ")} is given more than once: splits must differ`;
  if (known) {
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length) {
      const list = unknown.map((u) => `'${u}'`).join(", ");
      return what === "tags" ? `No sample is tagged ${list}: that split would be empty` : `This dataset has no saved view ${list}`;
    }
  }
  return null;
}

/** Fields whose values can define splits (strings, integers, booleans or lists of them). */
export function splitFields(fields: readonly FieldRef[]): string[] {
  return fields.filter((f) => f.name !== "tags" && splitFieldTypeError(f.name, f.ftype, f.subfield) === null).map((f) => f.name).sort();
}

export function splitFieldError(fields: readonly FieldRef[], name: unknown): string | null {
  if (typeof name !== "string" || !name) return "Choose the field whose values define the splits";
  const f = fields.find((x) => x.name === name);
  if (!f) return `This dataset has no field '${name}'`;
  return splitFieldTypeError(f.name, f.ftype, f.subfield);
}

/** find_unique: a whole number of samples to keep, or a share of samples to drop. */
export function uniqueTargetError(mode: unknown, value: unknown, numSamples?: number): string | null {
  const v = typeof value === "number" ? value : Number(value);
  if (mode === "fraction") {
    if (!Number.isFinite(v) || v < 0 || v >= 1) return "The fraction of samples to drop must be in [0, 1)";
    return null;
  }
  if (!Number.isInteger(v) || v < 1) return "The number of unique samples must be a whole number ≥ 1";
  if (numSamples !== undefined && v >= numSamples) return `The view has ${numSamples} samples: asking for ${v} keeps every sample`;
  return null;
}

/** Similarity indexes near duplicates can use: indexes of whole samples. */
export function duplicateIndexes(runs: readonly BrainRunRef[]): BrainRunRef[] {
  return similarityRuns(runs).filter((r) => !r.patchesField);
}

/**
 * The duplicates view's optional field names (type / nearest id / distance): each a new
 * valid field, no two alike. Returns the first problem by parameter, or null.
 */
export function duplicateFieldsError(params: Record<string, unknown>, fieldNames: readonly string[]): { param: string; error: string } | null {
  const seen = new Map<string, string>();
  for (const param of ["type_field", "id_field", "dist_field"]) {
    const name = params[param];
    const error = newFieldError(name, fieldNames);
    if (error) return { param, error };
    if (typeof name !== "string" || !name) continue;
    if (seen.has(name)) return { param, error: `'${name}' is already the ${seen.get(name)}` };
    seen.set(name, param.replace("_", " "));
  }
  return null;
}
