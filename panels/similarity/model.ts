import { selectStage, StageDict } from "../../operators/views";

/**
 * What the Similarity panel knows about one index, as `list_similarity_indexes` reports it.
 * The panel only reads these fields; the runtime owns the run records.
 */
export interface SimilarityIndexInfo {
  key: string;
  backend: string;
  metric: string;
  /** Number of vectors in the index, when known. */
  size?: number | null;
  supportsPrompts: boolean;
  /** The model that embedded the index's items, if any: it embeds uploaded images and prompts. */
  model?: string | null;
  embeddingsField?: string | null;
  patchesField?: string | null;
  timestamp?: string | null;
}

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

/** The newest index (the one the grid button queries): by timestamp, else the last listed. */
export function latestIndex(indexes: readonly SimilarityIndexInfo[]): SimilarityIndexInfo | null {
  if (indexes.length === 0) return null;
  return [...indexes].reduce((best, idx) => ((idx.timestamp ?? "") > (best.timestamp ?? "") ? idx : best), indexes[indexes.length - 1]);
}

/** Why a text query cannot run on this index, or null when it can. */
export function textUnavailable(index: SimilarityIndexInfo): string | null {
  if (index.supportsPrompts) return null;
  const source = index.model ? `model '${index.model}'` : `embeddings field '${index.embeddingsField ?? "?"}' (no model)`;
  return `Index '${index.key}' was built from ${source}, which cannot embed text. Text search needs an index whose model supports prompts.`;
}

/** Why an image query cannot run on this index, or null when it can. */
export function imageUnavailable(index: SimilarityIndexInfo): string | null {
  if (index.model) return null;
  return `Index '${index.key}' was built from embeddings field '${index.embeddingsField ?? "?"}' without a model, so an uploaded image cannot be embedded the same way. Build an index with a model (or from embeddings a model computed).`;
}

/** The runtime parameters for a query, or the reason it cannot run yet. */
export function sortParams(index: SimilarityIndexInfo, input: QueryInput): SortParams | { error: string } {
  if (!Number.isInteger(input.k) || input.k < 1) return { error: "k must be a whole number ≥ 1" };
  const base = { brain_key: index.key, k: input.k, reverse: input.reverse };
  switch (input.mode) {
    case "selection":
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
      const reason = imageUnavailable(index);
      if (reason) return { error: reason };
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
