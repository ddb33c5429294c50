import { BrainError } from "../errors";
import type { IndexCapabilities, IndexItems, QueryOptions } from "./similarityIndex";

/**
 * Checks shared by the external backends, run before anything is sent to a server so that
 * bad input is refused with nothing written.
 */

/** Ids unique within the call, vectors of the right shape and finite. */
export function checkItems(backend: string, dim: number, items: IndexItems): void {
  const n = items.ids.length;
  if (items.vectors.length !== n * dim) {
    throw new BrainError(
      "INVALID_DATA",
      `The ${backend} index holds ${dim}-dimensional vectors, but ${items.vectors.length} floats were given for ${n} ids (expected ${n * dim})`,
    );
  }
  if (items.sampleIds !== undefined && items.sampleIds.length !== n) {
    throw new BrainError("INVALID_DATA", `${items.sampleIds.length} sample ids were given for ${n} items`);
  }
  const seen = new Set<string>();
  for (const id of items.ids) {
    if (typeof id !== "string" || id.length === 0) throw new BrainError("INVALID_DATA", "Every item needs a non-empty string id");
    if (seen.has(id)) throw new BrainError("INVALID_DATA", `The id '${id}' appears twice in one add; give each item once`);
    seen.add(id);
  }
  const bad = firstNonFinite(items.vectors);
  if (bad >= 0) {
    throw new BrainError("INVALID_DATA", `The vector of '${items.ids[Math.floor(bad / dim)]}' contains ${items.vectors[bad]}; only finite values can be indexed`);
  }
}

/** Number of query vectors in a row-major `q × dim` array. */
export function checkQueries(backend: string, dim: number, queries: Float32Array): number {
  if (queries.length === 0 || queries.length % dim !== 0) {
    throw new BrainError(
      "INVALID_DATA",
      `The ${backend} index holds ${dim}-dimensional vectors; a query of ${queries.length} floats is not a whole number of them`,
    );
  }
  if (firstNonFinite(queries) >= 0) throw new BrainError("INVALID_DATA", "Query vectors must contain only finite values");
  return queries.length / dim;
}

/**
 * The number of results to fetch: `k`, or every candidate when k is undefined. Backends
 * with a `maxK` refuse more, and backends without least-similarity refuse `reverse`.
 */
export function resolveK(backend: string, capabilities: IndexCapabilities, options: QueryOptions, candidates: number): number {
  if (options.reverse && !capabilities.supportsLeastSimilarity) {
    throw new BrainError("INVALID_PARAMS", `The ${backend} backend cannot return the least similar items (reverse); use the exact or hnswlib backend for that`);
  }
  const { k } = options;
  if (k !== undefined && (!Number.isInteger(k) || k < 1)) {
    throw new BrainError("INVALID_PARAMS", `k must be a positive integer, got ${k}`);
  }
  const wanted = k ?? candidates;
  const { maxK } = capabilities;
  if (maxK !== undefined && wanted > maxK) {
    throw new BrainError(
      "INVALID_PARAMS",
      k === undefined
        ? `The ${backend} backend returns at most ${maxK} results per query and ${candidates} items are candidates; pass k ≤ ${maxK}`
        : `The ${backend} backend returns at most ${maxK} results per query; k=${k} is too large`,
    );
  }
  return Math.min(wanted, candidates);
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}
