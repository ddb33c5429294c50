import { BrainError } from "../../errors";
import { GENERIC_CONFIG_CLS, GENERIC_RESULTS_CLS, assertNewBrainKey, registerBrainRun } from "../../fiftyone/runs";
import { findDuplicates, NearDuplicates, NeighborGraph, PlainNeighborGraph } from "../../methods/nearDuplicates";
import { Metric, radiusGraph } from "../../methods/neighborGraph";
import { knnRadiusGraph } from "../../index/radiusGraph";
import { hnswNeighbourGraphs } from "../../index/hnswRadiusGraph";
import { BrainConfig, loadBrainConfig } from "../../config/brainConfig";
import { parseEmbeddingSourceParams, resolveEmbeddings } from "../embeddingSource";
import { Job, JobContext, scaledProgress } from "../job";
import { optionalString, RawParams } from "../params";
import { parseDuplicateFields, removeDuplicateFields, writeDuplicateFields } from "./duplicateFields";
import { readIndexVectors } from "./indexVectors";

export interface NearDuplicatesResult {
  brainKey: string | null;
  threshold: number;
  metric: Metric;
  numSamples: number;
  numMissing: number;
  uniqueIds: string[];
  duplicateIds: string[];
  /** Kept sample → its duplicates with distances, nearest first. */
  neighborsMap: Record<string, [string, number][]>;
  /** The same groups as exact duplicates store them, for the Duplicates panel. */
  duplicates: Record<string, string[]>;
  /** The similarity index the vectors came from, if any. */
  similarityIndex: string | null;
  /** View samples the similarity index lacks (skipped): how many, and the first few ids. */
  numNotIndexed: number;
  notIndexedIds: string[];
  /** The duplicates view's fields written (type / nearest id / distance). */
  fields: string[];
}

const METRIC_MAX: Record<Metric, number> = { cosine: 2, euclidean: Infinity };
const MAX_STORED_NEIGHBORS = 32;
/** Above this many samples, neighbours come from HNSW unless the exact method is asked for. */
export const HNSW_ABOVE = 200_000;
/** Stored neighbours per sample on the HNSW path: its candidates per row are this + 1. */
const HNSW_STORED_NEIGHBORS = 16;

export type NeighbourMethod = "exact" | "hnswlib";

/** `backend`: "exact" (also "sklearn", the reference's name) or "hnswlib"; by default exact up to HNSW_ABOVE samples. */
export function resolveNeighbourMethod(params: RawParams, n: number): NeighbourMethod {
  const backend = optionalString(params, "backend");
  if (backend === undefined) return n > HNSW_ABOVE ? "hnswlib" : "exact";
  if (backend === "exact" || backend === "sklearn") return "exact";
  if (backend === "hnswlib") return "hnswlib";
  throw new BrainError("INVALID_PARAMS", `Unknown backend '${backend}' for near duplicates: use exact (sklearn) or hnswlib`);
}

/** The metric asked for, else the brain config's sklearn metric (the reference's implicit index). */
export function resolveMetric(params: RawParams, config: BrainConfig = loadBrainConfig()): Metric {
  const configMetric = config.similarity_backends.sklearn?.metric;
  const metric = optionalString(params, "metric") ?? (typeof configMetric === "string" ? configMetric : "cosine");
  if (metric !== "cosine" && metric !== "euclidean") throw new BrainError("INVALID_PARAMS", `Unknown metric '${metric}': use cosine or euclidean`);
  return metric;
}

/** A threshold is a distance of the metric; 0.2 by default, as the reference. */
export function resolveThreshold(params: RawParams, metric: Metric): number {
  const threshold = params.threshold === undefined ? 0.2 : Number(params.threshold);
  if (!(threshold > 0) || threshold > METRIC_MAX[metric]) {
    throw new BrainError("INVALID_PARAMS", `The threshold must be a distance in (0, ${METRIC_MAX[metric]}] for the ${metric} metric; got ${params.threshold}`);
  }
  return threshold;
}

/** The rows to search: embeddings of the view (a field, or a model's), or an existing similarity index's vectors. */
export interface NeighbourSource {
  ids: string[];
  vectors: Float32Array;
  dim: number;
  metric: Metric;
  center?: Float64Array;
  /** Samples without embeddings (no value, or the model failed on them), or not in the index. */
  numMissing: number;
  numNotIndexed: number;
  notIndexedIds: string[];
  config: Record<string, unknown>;
}

/**
 * The embeddings near duplicates and leaky splits search, with the reference's sources:
 * `similarity_index` (an existing index's vectors and metric), or `embeddings` (a field),
 * or `model` (run on the images, stored in `embeddings` when that field is new), or,
 * when none is given, the default model.
 */
export async function readNeighbourSource(ctx: JobContext, params: RawParams, share = 0.3): Promise<NeighbourSource> {
  const indexKey = optionalString(params, "similarity_index");
  if (!indexKey) {
    const metric = resolveMetric(params, ctx.brainConfig);
    resolveThreshold(params, metric);
    const sourceParams = parseEmbeddingSourceParams(params);
    const emb = await resolveEmbeddings(scaledProgress(ctx, share), sourceParams, { defaultModel: !sourceParams.embeddings });
    if (emb.ids.length === 0) {
      throw new BrainError("EMPTY_VIEW", emb.model ? `The model '${emb.model}' embedded none of the view's images (${emb.numFailures} failed)` : `No sample of the view has embeddings in '${emb.field}'`);
    }
    return {
      ids: emb.ids,
      vectors: emb.vectors,
      dim: emb.dim,
      metric,
      numMissing: emb.numMissing + emb.numFailures,
      numNotIndexed: 0,
      notIndexedIds: [],
      config: { embeddings_field: emb.field, ...(emb.model ? { model: emb.model } : {}), metric },
    };
  }
  if (optionalString(params, "embeddings") || optionalString(params, "model")) {
    throw new BrainError("INVALID_PARAMS", "Give either embeddings (a field or a model) or a similarity index, not both");
  }
  const read = await readIndexVectors(ctx, indexKey);
  const asked = optionalString(params, "metric");
  if (asked && asked !== read.metric) {
    throw new BrainError("INVALID_PARAMS", `The similarity index '${indexKey}' uses the ${read.metric} metric; near duplicates from it are ${read.metric} distances (got metric '${asked}')`);
  }
  resolveThreshold(params, read.metric);
  return {
    ids: read.ids,
    vectors: read.vectors,
    dim: read.dim,
    metric: read.metric,
    center: read.center,
    numMissing: read.numNotIndexed,
    numNotIndexed: read.numNotIndexed,
    notIndexedIds: read.notIndexedIds,
    config: { similarity_index: indexKey, backend: read.backend, metric: read.metric, ...(read.fromField ? { embeddings_field: read.fromField } : {}) },
  };
}

/**
 * compute_near_duplicates from an embeddings field or an existing similarity index:
 * exact neighbours within the threshold (the reference's centered distances), then its
 * greedy unique set and neighbours map. From a field, the metric defaults to the brain
 * config's sklearn metric, as the reference's implicit index does; from an index, it is
 * the index's. Optionally writes the duplicates view's type / nearest id / distance
 * fields, which the run owns.
 */
export const nearDuplicatesJob: Job<NearDuplicatesResult> = {
  name: "compute_near_duplicates",
  description: "Find near-duplicate samples from an embeddings field or a similarity index",
  async run(ctx, params) {
    const brainKey = optionalString(params, "brain_key") ?? null;
    if (brainKey) assertNewBrainKey(ctx.dataset, brainKey);
    const fieldNames = parseDuplicateFields(params, ctx.dataset);
    const source = await readNeighbourSource(ctx, params);
    const { metric } = source;
    const threshold = resolveThreshold(params, metric);
    const n = source.ids.length;
    const method = resolveNeighbourMethod(params, n);
    ctx.progress(0.3, `Finding neighbours of ${n} samples`);
    const { graph, exact } = await neighbourGraphs(source.vectors, n, source.dim, metric, threshold, {
      signal: ctx.signal,
      center: source.center,
      progress: (f) => ctx.progress(0.3 + 0.6 * f, `Finding neighbours of ${n} samples`),
      method,
    });
    const found = findDuplicates(exact, threshold);
    const id = (i: number) => source.ids[i];
    const neighborsMap = neighborsMapOf(found, source.ids);
    ctx.signal.throwIfAborted();
    const fields = await writeDuplicateFields(ctx.db, ctx.dataset, fieldNames, neighborsMap);
    const result: NearDuplicatesResult = {
      brainKey, threshold, metric, numSamples: n, numMissing: source.numMissing,
      uniqueIds: found.unique.map(id),
      duplicateIds: found.duplicates.map(id),
      neighborsMap,
      duplicates: Object.fromEntries(Object.entries(neighborsMap).map(([k, g]) => [k, g.map(([d]) => d)])),
      similarityIndex: optionalString(params, "similarity_index") ?? null,
      numNotIndexed: source.numNotIndexed,
      notIndexedIds: source.notIndexedIds,
      fields,
    };
    if (brainKey) {
      try {
        await registerBrainRun(ctx.db, ctx.dataset, {
          key: brainKey,
          version: ctx.fiftyoneVersion,
          viewStages: ctx.target.viewStages ?? null,
          config: {
            cls: GENERIC_CONFIG_CLS, type: "brain", method: "near_duplicates", runtime: "brain-ts", ...source.config, threshold,
            type_field: fieldNames.type_field ?? null, id_field: fieldNames.id_field ?? null, dist_field: fieldNames.dist_field ?? null,
            neighbor_search: method,
          },
          results: {
            cls: GENERIC_RESULTS_CLS,
            thresh: threshold,
            unique_ids: result.uniqueIds,
            duplicate_ids: result.duplicateIds,
            neighbors_map: neighborsMap,
            duplicates: result.duplicates,
            graph: storedGraph(graph, source.ids),
          },
        });
      } catch (err) {
        // No fields left behind without the run that would remove them.
        await removeDuplicateFields(ctx.db, ctx.dataset, fields);
        throw err;
      }
    }
    ctx.progress(1, `${result.duplicateIds.length} near duplicates`);
    return result;
  },
};

/**
 * The graphs a run needs: `graph` holds neighbours up to twice the threshold and is kept
 * with the run, so panels can regroup at other thresholds without recomputing anything;
 * `exact` is complete up to the threshold, for the run's own result (rows with many
 * close neighbours make the capped graph exact only below some distance). With the
 * hnswlib method, candidates come from the sharded HNSW index (approximate: a pair it
 * misses is missing) and are kept with their exact distances; it stores 16 neighbours
 * per sample instead of 32.
 */
export async function neighbourGraphs(
  vectors: ArrayLike<number>,
  n: number,
  dim: number,
  metric: Metric,
  threshold: number,
  options: { signal?: AbortSignal; progress?: (fraction: number) => void; center?: ArrayLike<number>; method?: NeighbourMethod } = {},
): Promise<{ graph: NeighborGraph; exact: NeighborGraph }> {
  const storedRadius = Math.min(METRIC_MAX[metric], 2 * threshold);
  if (options.method === "hnswlib") {
    const rows = vectors instanceof Float32Array ? vectors : Float32Array.from(vectors);
    return hnswNeighbourGraphs(rows, n, dim, metric, threshold, storedRadius, HNSW_STORED_NEIGHBORS, { signal: options.signal, progress: options.progress, center: options.center });
  }
  const graph = await knnRadiusGraph(vectors, n, dim, metric, Math.min(METRIC_MAX[metric], 2 * threshold), MAX_STORED_NEIGHBORS, options);
  const exact = graph.radius >= threshold ? graph : radiusGraph(vectors, n, dim, metric, threshold, Infinity, options.center);
  return { graph, exact };
}

/** The neighbour graph as stored with a run (JSON in GridFS): only rows with neighbours. */
export type StoredGraph = PlainNeighborGraph;

/** The run's neighbours map by sample id: kept id → [duplicate id, distance][], as the reference stores it. */
export function neighborsMapOf(found: NearDuplicates, ids: readonly string[]): Record<string, [string, number][]> {
  return Object.fromEntries([...found.neighborsMap].map(([k, group]) => [ids[k], group.map((e): [string, number] => [ids[e.index], e.dist])]));
}

export function storedGraph(graph: NeighborGraph, ids: string[]): StoredGraph {
  const linked = new Uint8Array(graph.n);
  for (let i = 0; i < graph.n; i++) if (graph.offsets[i + 1] > graph.offsets[i]) linked[i] = 1;
  for (const j of graph.indices) linked[j] = 1;
  const keep = Array.from({ length: graph.n }, (_, i) => i).filter((i) => linked[i]);
  const position = new Map(keep.map((i, p) => [i, p]));
  const offsets = [0];
  const indices: number[] = [];
  const distances: number[] = [];
  for (const i of keep) {
    for (let k = graph.offsets[i]; k < graph.offsets[i + 1]; k++) {
      indices.push(position.get(graph.indices[k])!);
      distances.push(graph.distances[k]);
    }
    offsets.push(indices.length);
  }
  return { ids: keep.map((i) => ids[i]), offsets, indices, distances, radius: graph.radius };
}
