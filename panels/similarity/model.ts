import { selectStage, StageDict } from "../../operators/views";
import type { SimilarityIndexInfo, SortBySimilarityResult } from "../../src/runtime/jobs/similarityParams";

export type { SimilarityIndexInfo };

/** The float field query results write their distances to, so the grid's tiles can show them. */
export const DEFAULT_DIST_FIELD = "similarity_distance";

export type QueryMode = "selection" | "text" | "image";

export interface QueryInput {
  mode: QueryMode;
  selectedIds: readonly string[];
  text: string;
  /** The uploaded image, base64 without the data-URL prefix. */
  imageBase64: string | null;
  k: number;
  reverse: boolean;
}

/** Parameters of the runtime's `sort_by_similarity`. */
export interface SortParams {
  brain_key: string;
  query_ids?: string[];
  text?: string;
  image?: { base64: string };
  k: number;
  reverse: boolean;
  dist_field?: string;
}

/** The newest index (the grid button queries the newest sample index): by timestamp; ties go to the last listed. */
export function latestIndex(indexes: readonly SimilarityIndexInfo[]): SimilarityIndexInfo | null {
  if (indexes.length === 0) return null;
  return indexes.reduce((best, idx) => (idx.timestamp >= best.timestamp ? idx : best));
}

/**
 * The samples of a result in order: sample indexes return sample ids; patch indexes return
 * label ids with their samples, and a sample is listed at its first (nearest) label.
 */
export function resultSamples(result: SortBySimilarityResult): { ids: string[]; distances: number[] } {
  if (!result.sample_ids) return { ids: result.ids, distances: result.distances };
  const seen = new Set<string>();
  const ids: string[] = [];
  const distances: number[] = [];
  result.sample_ids.forEach((id, i) => {
    if (seen.has(id)) return;
    seen.add(id);
    ids.push(id);
    distances.push(result.distances[i]);
  });
  return { ids, distances };
}

/** Why a text query cannot run on this index, or null when it can. */
export function textUnavailable(index: SimilarityIndexInfo): string | null {
  if (index.supports_prompts) return null;
  const source = index.model ? `the model '${index.model}'` : `the embeddings field '${index.embeddings_field ?? "?"}' (no model)`;
  return `Index '${index.brain_key}' was built from ${source}, which cannot embed text. Text search needs an index whose model supports prompts.`;
}

/** What an image query does, so a mismatch with the index is no surprise. */
export const IMAGE_QUERY_NOTE =
  "The image is embedded with the runtime's default model, so the index must hold that model's embeddings (e.g. built from a field that compute_embeddings filled).";

/** Why the least-similar-first order cannot be asked of this index, or null when it can. */
export function reverseUnavailable(index: SimilarityIndexInfo): string | null {
  return index.supports_least_similarity ? null : `The ${index.backend} backend cannot return the least similar samples`;
}

/** The runtime parameters for a query, or the reason it cannot run yet. */
export function sortParams(index: SimilarityIndexInfo, input: QueryInput): SortParams | { error: string } {
  if (!Number.isInteger(input.k) || input.k < 1) return { error: "k must be a whole number ≥ 1" };
  if (index.max_k !== null && input.k > index.max_k) return { error: `The ${index.backend} backend returns at most ${index.max_k} results` };
  if (input.reverse && reverseUnavailable(index)) return { error: reverseUnavailable(index)! };
  const base = { brain_key: index.brain_key, k: input.k, reverse: input.reverse };
  switch (input.mode) {
    case "selection":
      if (index.patches_field) {
        return { error: `Index '${index.brain_key}' holds the labels of '${index.patches_field}', not samples: query it by image or text instead.` };
      }
      if (input.selectedIds.length === 0) return { error: "Select one or more samples in the grid to search by them." };
      return { ...base, query_ids: [...input.selectedIds] };
    case "text": {
      const reason = textUnavailable(index);
      if (reason) return { error: reason };
      const text = input.text.trim();
      if (!text) return { error: "Type what to search for." };
      return { ...base, text };
    }
    case "image": {
      if (!input.imageBase64) return { error: "Choose an image file to search by." };
      return { ...base, image: { base64: input.imageBase64 } };
    }
  }
}

/** A short description of a query, shown above its results. */
export function describeQuery(input: QueryInput, fileName: string | null): string {
  switch (input.mode) {
    case "selection":
      return `${input.selectedIds.length} selected sample${input.selectedIds.length === 1 ? "" : "s"}`;
    case "text":
      return `“${input.text.trim()}”`;
    case "image":
      return `image ${fileName ?? ""}`.trim();
  }
}

/** A field name FiftyOne accepts for the distances (a new or float field; no dots, not private). */
export function distFieldError(name: string): string | null {
  if (!name) return null;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return "The distance field must start with a letter and use only letters, digits and _";
  return null;
}

/**
 * The grid view of a result: the ids in result order (an ordered Select), after the
 * stages the query was restricted to, if any.
 */
export function resultView(ids: readonly string[], restrictedTo: readonly unknown[] | null): unknown[] {
  const select: StageDict = selectStage([...ids], true);
  return [...(restrictedTo ?? []), select];
}

/** Reads a file as base64 without the `data:...;base64,` prefix (what the runtime takes). */
export function readAsBase64(file: Blob): Promise<{ base64: string; dataUrl: string }> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error("The file could not be read"));
    reader.onload = () => {
      const dataUrl = String(reader.result);
      const comma = dataUrl.indexOf(",");
      resolve({ base64: comma >= 0 ? dataUrl.slice(comma + 1) : dataUrl, dataUrl });
    };
    reader.readAsDataURL(file);
  });
}
