import { BrainError } from "../../errors";
import { readEmbeddings } from "../../fiftyone/embeddings";
import { GENERIC_CONFIG_CLS, GENERIC_RESULTS_CLS, assertNewBrainKey, registerBrainRun } from "../../fiftyone/runs";
import { findDuplicates, NeighborGraph } from "../../methods/nearDuplicates";
import { Metric, radiusGraph } from "../../methods/neighborGraph";
import { BrainConfig, loadBrainConfig } from "../../config/brainConfig";
import { Job } from "../job";
import { optionalString, RawParams, requiredString } from "../params";

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
}

const METRIC_MAX: Record<Metric, number> = { cosine: 2, euclidean: Infinity };
const MAX_STORED_NEIGHBORS = 32;

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

/**
 * compute_near_duplicates from an embeddings field: exact neighbours within the
 * threshold (the reference's centered distances), then its greedy unique set and
 * neighbours map. The metric defaults to the brain config's sklearn metric, as the
 * reference's implicit index does.
 */
export const nearDuplicatesJob: Job<NearDuplicatesResult> = {
  name: "compute_near_duplicates",
  description: "Find near-duplicate samples from an embeddings field",
  async run(ctx, params) {
    const field = requiredString(params, "embeddings");
    const brainKey = optionalString(params, "brain_key") ?? null;
    const metric = resolveMetric(params, ctx.brainConfig);
    const threshold = resolveThreshold(params, metric);
    if (brainKey) assertNewBrainKey(ctx.dataset, brainKey);
    const emb = await readEmbeddings(ctx.db, ctx.dataset, ctx.target, field, { signal: ctx.signal, progress: (f) => ctx.progress(0.3 * f, "Reading embeddings") });
    const n = emb.ids.length;
    if (n === 0) throw new BrainError("EMPTY_VIEW", `No sample of the view has embeddings in '${field}'`);
    ctx.progress(0.3, `Finding neighbours of ${n} samples`);
    // Neighbours up to twice the threshold are kept with the run, so the Duplicates panel
    // can regroup at other thresholds without recomputing anything.
    const graph = radiusGraph(emb.vectors, n, emb.dim, metric, Math.min(METRIC_MAX[metric], 2 * threshold), MAX_STORED_NEIGHBORS);
    // Rows with many close neighbours make the capped graph exact only below some
    // distance; the run's own result is then computed on an uncapped graph.
    const exact = graph.radius >= threshold ? graph : radiusGraph(emb.vectors, n, emb.dim, metric, threshold);
    const found = findDuplicates(exact, threshold);
    const id = (i: number) => emb.ids[i];
    const neighborsMap = Object.fromEntries(
      [...found.neighborsMap].map(([k, group]) => [id(k), group.map((e): [string, number] => [id(e.index), e.dist])]),
    );
    const result: NearDuplicatesResult = {
      brainKey, threshold, metric, numSamples: n, numMissing: emb.numMissing,
      uniqueIds: found.unique.map(id),
      duplicateIds: found.duplicates.map(id),
      neighborsMap,
      duplicates: Object.fromEntries(Object.entries(neighborsMap).map(([k, g]) => [k, g.map(([d]) => d)])),
    };
    if (brainKey) {
      await registerBrainRun(ctx.db, ctx.dataset, {
        key: brainKey,
        version: ctx.fiftyoneVersion,
        viewStages: ctx.target.viewStages ?? null,
        config: { cls: GENERIC_CONFIG_CLS, type: "brain", method: "near_duplicates", runtime: "brain-ts", embeddings_field: field, metric, threshold },
        results: {
          cls: GENERIC_RESULTS_CLS,
          thresh: threshold,
          unique_ids: result.uniqueIds,
          duplicate_ids: result.duplicateIds,
          neighbors_map: neighborsMap,
          duplicates: result.duplicates,
          graph: storedGraph(graph, emb.ids),
        },
      });
    }
    ctx.progress(1, `${result.duplicateIds.length} near duplicates`);
    return result;
  },
};

/** The neighbour graph as stored with a run (JSON in GridFS): only rows with neighbours. */
export interface StoredGraph {
  ids: string[];
  offsets: number[];
  indices: number[];
  distances: number[];
  radius: number;
}

function storedGraph(graph: NeighborGraph, ids: string[]): StoredGraph {
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
