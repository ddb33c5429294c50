import { BACKEND_ALIASES, BACKEND_CATALOG, BackendInfo } from "../src/index/backendCatalog";
import type { SortBySimilarityResult } from "../src/runtime/jobs/similarityParams";
import { selectStage, StageDict } from "./views";
import type { BrainRunRef } from "./validation";

/** Pure helpers of the similarity forms (no App imports, unit-tested). */

export type QueryTab = "SELECTED" | "IMAGE" | "TEXT";

/**
 * The dataset's similarity indexes of a backend shipped here, told by the run's method
 * (its backend). The App's run `type` cannot tell: it is null for sklearn runs and
 * "similarity" for every generic brain run.
 */
export function similarityRuns(runs: readonly BrainRunRef[]): BrainRunRef[] {
  return runs.filter((r) => {
    const backend = r.method ? BACKEND_ALIASES[r.method] ?? r.method : "";
    return r.type !== "visualization" && backend in BACKEND_CATALOG;
  });
}

/** Backends the forms offer, default first (the brain config's default name may be the reference's `sklearn`). */
export function offeredBackends(defaultName: string | null = null): BackendInfo[] {
  const all = Object.values(BACKEND_CATALOG);
  const preferred = defaultName ? BACKEND_ALIASES[defaultName] ?? defaultName : "exact";
  return [...all.filter((b) => b.name === preferred), ...all.filter((b) => b.name !== preferred)];
}

/** compute_similarity's parameters from the form: only the chosen backend's own parameters. */
export function computeSimilarityParams(form: Record<string, unknown>): Record<string, unknown> {
  const backend = BACKEND_CATALOG[String(form.backend ?? "exact")] ?? BACKEND_CATALOG.exact;
  const params: Record<string, unknown> = {
    brain_key: form.brain_key,
    embeddings: form.embeddings,
    backend: backend.name,
    metric: form[`${backend.name}_metric`] ?? backend.defaultMetric,
  };
  if (typeof form.patches_field === "string" && form.patches_field) params.patches_field = form.patches_field;
  for (const p of backend.params) {
    const v = form[`${backend.name}_${p.name}`];
    if (v !== undefined && v !== null && v !== "") params[p.name] = v;
  }
  return params;
}

/** Base64 bytes of an uploaded file, whichever shape the App's FileView gives ({file: {content}} or {content}). */
export function uploadedBase64(value: unknown): string | null {
  const v = value as { file?: { content?: unknown }; content?: unknown } | null | undefined;
  const content = v?.file?.content ?? v?.content;
  return typeof content === "string" && content.length > 0 ? content : null;
}

/** What is wrong with a sort form, or null. */
export function sortFormError(tab: QueryTab, form: Record<string, unknown>, selectedCount: number): string | null {
  if (tab === "SELECTED" && selectedCount === 0) return "Select samples in the grid to search by them";
  if (tab === "IMAGE" && !uploadedBase64(form.query_image) && !(typeof form.image_path === "string" && form.image_path)) {
    return "Upload an image or give its path";
  }
  if (tab === "TEXT" && !(typeof form.query === "string" && form.query.trim())) return "Type a text query";
  const k = form.k;
  if (k !== undefined && k !== null && (typeof k !== "number" || !Number.isInteger(k) || k < 1)) return "k must be a positive whole number";
  return null;
}

/** sort_by_similarity's parameters (the job's contract) from the form. */
export function sortParams(tab: QueryTab, form: Record<string, unknown>, selectedIds: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = { brain_key: form.brain_key };
  if (tab === "SELECTED") params.query_ids = selectedIds;
  else if (tab === "IMAGE") {
    const b64 = uploadedBase64(form.query_image);
    params.image = b64 ? { base64: b64 } : { path: form.image_path };
  } else params.text = String(form.query ?? "").trim();
  if (typeof form.k === "number") params.k = form.k;
  if (form.reverse === true) params.reverse = true;
  if (typeof form.dist_field === "string" && form.dist_field) params.dist_field = form.dist_field;
  return params;
}

/** The grid's new view: the current view's stages, then the results as an ordered selection (samples by first occurrence for patch results). */
export function resultStages(currentView: readonly unknown[], result: SortBySimilarityResult): StageDict[] {
  const samples = result.sample_ids ?? result.ids;
  const seen = new Set<string>();
  const ordered = samples.filter((id) => !seen.has(id) && seen.add(id));
  return [...(currentView as StageDict[]), selectStage(ordered, true)];
}
