import { BrainError } from "../../errors";
import { optionalBoolean, optionalString, RawParams, requiredString } from "../params";

/**
 * Parameters and results of the similarity jobs, as operators, panels and the CLI send
 * and receive them (JSON). Parsing here, so every caller gets the same messages.
 */

export type Aggregation = "mean" | "post-mean" | "post-min" | "post-max";
export const AGGREGATIONS: readonly Aggregation[] = ["mean", "post-mean", "post-min", "post-max"];

export interface ImageQuery {
  /** A file the runtime can read. */
  path?: string;
  /** Image bytes, base64 (a data: URL prefix is accepted). */
  base64?: string;
}

export interface SortBySimilarityParams {
  brain_key: string;
  query_ids?: string[];
  query_vector?: number[];
  image?: ImageQuery;
  text?: string;
  /** undefined = every item of the view. */
  k?: number;
  reverse: boolean;
  aggregation: Aggregation;
  dist_field?: string;
}

export interface SortBySimilarityResult {
  /** Result ids, most similar first (least similar first with `reverse`): sample ids, or label ids for patch indexes. */
  ids: string[];
  distances: number[];
  /** For patch indexes, the sample of each result (same length as `ids`). */
  sample_ids?: string[];
  /** Whether ids are label ids (patch index). */
  patches_field: string | null;
}

export interface SimilarityIndexInfo {
  brain_key: string;
  backend: string;
  metric: string;
  size: number;
  dim: number;
  embeddings_field: string | null;
  patches_field: string | null;
  model: string | null;
  supports_prompts: boolean;
  max_k: number | null;
  supports_least_similarity: boolean;
  timestamp: string;
}

function stringList(params: RawParams, name: string): string[] | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) throw new BrainError("INVALID_PARAMS", `'${name}' must be a list of ids`);
  return list as string[];
}

function numberList(params: RawParams, name: string): number[] | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
    throw new BrainError("INVALID_PARAMS", `'${name}' must be a list of finite numbers`);
  }
  return v as number[];
}

export function parseSortParams(params: RawParams): SortBySimilarityParams {
  const brain_key = requiredString(params, "brain_key");
  const query_ids = stringList(params, "query_ids");
  const query_vector = numberList(params, "query_vector");
  const text = optionalString(params, "text");
  let image: ImageQuery | undefined;
  if (params.image !== undefined && params.image !== null) {
    const raw = params.image as Record<string, unknown>;
    if (typeof raw !== "object" || Array.isArray(raw)) throw new BrainError("INVALID_PARAMS", "'image' must be {path} or {base64}");
    const path = optionalString(raw, "path");
    const base64 = optionalString(raw, "base64");
    if (!path === !base64) throw new BrainError("INVALID_PARAMS", "'image' needs exactly one of 'path' or 'base64'");
    image = path ? { path } : { base64 };
  }
  const given = [query_ids?.length ? 1 : 0, query_vector ? 1 : 0, image ? 1 : 0, text ? 1 : 0].reduce((a, b) => a + b, 0);
  if (given === 0) {
    throw new BrainError("INVALID_PARAMS", "At least one query must be provided (query_ids, query_vector, image or text)");
  }
  if (given > 1) throw new BrainError("INVALID_PARAMS", "Give only one kind of query: query_ids, query_vector, image or text");
  if (query_vector && query_vector.length === 0) throw new BrainError("INVALID_PARAMS", "At least one query vector must be provided");
  let k: number | undefined;
  if (params.k !== undefined && params.k !== null) {
    if (typeof params.k !== "number" || !Number.isInteger(params.k) || params.k < 1) {
      throw new BrainError("INVALID_PARAMS", `'k' must be a positive integer; got ${JSON.stringify(params.k)}`);
    }
    k = params.k;
  }
  const aggregation = (optionalString(params, "aggregation") ?? "mean") as Aggregation;
  if (!AGGREGATIONS.includes(aggregation)) {
    throw new BrainError("INVALID_PARAMS", `Unsupported aggregation method '${aggregation}'. Supported values are (${AGGREGATIONS.join(", ")})`);
  }
  return {
    brain_key,
    query_ids,
    query_vector,
    image,
    text,
    k,
    reverse: optionalBoolean(params, "reverse", false),
    aggregation,
    dist_field: optionalString(params, "dist_field"),
  };
}
