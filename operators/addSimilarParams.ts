import { queryRecordFieldError } from "../src/fiftyone/queryRecordFields";
import type { SimilaritySource } from "../src/runtime/jobs/similarSamples";
import { selectStage, StageDict } from "./views";
import type { FieldRef } from "./validation";

/** Pure helpers of the "add similar samples" form (no App imports, unit-tested). */

export type AddSearch = "image" | "text";
export type SourceIndex = SimilaritySource["indexes"][number];

export const DEFAULT_K = 25;

/** With samples selected the search is by their images, otherwise by a text prompt (as the reference). */
export function addSearch(selectedCount: number): AddSearch {
  return selectedCount > 0 ? "image" : "text";
}

/** The source's indexes a search can use: sample indexes; for text, those whose model embeds prompts. */
export function usableIndexes(source: SimilaritySource | undefined, search: AddSearch): SourceIndex[] {
  const sampleIndexes = (source?.indexes ?? []).filter((i) => i.patches_field === null);
  return search === "text" ? sampleIndexes.filter((i) => i.supports_prompts) : sampleIndexes;
}

/** The message an image search shows for an index without a model (it cannot embed the selection). */
export function noModelError(brainKey: string): string {
  return `The index '${brainKey}' does not record the model its embeddings were computed with, so the selected samples cannot be embedded to query it: choose an index built with a model`;
}

/** What is wrong with the form, or null (the runtime checks the same again). */
export function addSimilarFormError(
  search: AddSearch,
  form: Record<string, unknown>,
  sources: readonly SimilaritySource[],
  dataset: { name: string; fields: readonly FieldRef[] },
): string | null {
  const srcName = form.src_dataset;
  if (typeof srcName !== "string" || !srcName) return "Choose a source dataset";
  if (srcName === dataset.name) return "The source must be another dataset";
  const source = sources.find((s) => s.dataset === srcName);
  if (!source) return `Dataset '${srcName}' not found`;
  const indexes = usableIndexes(source, search);
  if (indexes.length === 0) {
    return search === "text"
      ? `Dataset '${srcName}' has no similarity index that supports text prompts (build one with an image+text model)`
      : `Dataset '${srcName}' has no similarity index of samples`;
  }
  const index = indexes.find((i) => i.brain_key === (form.brain_key ?? indexes[0].brain_key));
  if (!index) return `Choose a similarity index of '${srcName}'`;
  if (search === "image" && index.model === null) return noModelError(index.brain_key);
  if (search === "text" && !(typeof form.query === "string" && form.query.trim())) return "Type a text prompt";
  const k = form.k;
  if (k !== undefined && k !== null && (typeof k !== "number" || !Number.isInteger(k) || k < 1)) return "k must be a positive whole number";
  for (const [param, kind] of [
    ["query_field", "StringField"],
    ["query_time_field", "DateTimeField"],
  ] as const) {
    if (param === "query_field" && search === "image") continue;
    const name = form[param];
    if (typeof name === "string" && name) {
      const error = queryRecordFieldError(dataset.fields, dataset.name, name, kind, param);
      if (error) return error;
    }
  }
  if (search === "text" && form.query_field && form.query_field === form.query_time_field) return "The query and its time need two different fields";
  return null;
}

/** find_similar_samples' parameters (the job's contract) from the form. */
export function addSimilarParams(search: AddSearch, form: Record<string, unknown>, selectedIds: string[], defaultKey: string | null): Record<string, unknown> {
  const params: Record<string, unknown> = { src_dataset: form.src_dataset, brain_key: form.brain_key ?? defaultKey, k: typeof form.k === "number" ? form.k : DEFAULT_K };
  if (search === "image") params.query_ids = selectedIds;
  else {
    params.query = String(form.query ?? "").trim();
    if (typeof form.query_field === "string" && form.query_field) params.query_field = form.query_field;
  }
  if (typeof form.query_time_field === "string" && form.query_time_field) params.query_time_field = form.query_time_field;
  return params;
}

/** The grid afterwards: the selection, then the added samples in the index's order (the reference shows both). */
export function addedView(selectedIds: readonly string[], addedIds: readonly string[]): StageDict[] {
  return [selectStage([...selectedIds, ...addedIds], true)];
}

export function addedMessage(result: { num_added: number; num_skipped: number; src_dataset: string }): string {
  const added = `Added ${result.num_added} sample${result.num_added === 1 ? "" : "s"} from '${result.src_dataset}'`;
  return result.num_skipped ? `${added}; ${result.num_skipped} skipped (their filepath is already in this dataset)` : added;
}
