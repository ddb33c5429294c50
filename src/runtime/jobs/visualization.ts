import { BrainConfig, loadBrainConfig } from "../../config/brainConfig";
import { BrainError } from "../../errors";
import { EmbeddingsMatrix, readEmbeddings } from "../../fiftyone/embeddings";
import { parseEmbeddingSourceParams, resolveEmbeddings } from "../embeddingSource";
import { deleteSampleField, validateNewFieldName } from "../../fiftyone/fields";
import { serializeNumpyAscii } from "../../fiftyone/numpy";
import { attributeName, deleteLabelAttribute, newLabelAttributeError, PatchField, patchField, writeLabelPoints } from "../../fiftyone/labelEmbeddings";
import { writePointsField } from "../../fiftyone/pointsField";
import { assertNewBrainKey, registerBrainRun, RunConfig } from "../../fiftyone/runs";
import { streamSamples } from "../../fiftyone/samples";
import { knnSelf, SelfKnnOptions } from "../../index/exactKnn";
import { fitPca, pca, projectPca } from "../../methods/visualization/pca";
import { autoLearningRate, checkTsneInput, TSNE_DEFAULTS, tsne, tsneNeighborCount } from "../../methods/visualization/tsne";
import { checkUmapInput, umap, umapNeighbors } from "../../methods/visualization/umap";
import { Job, JobContext, requireSamples } from "../job";
import { optionalBoolean, optionalString, RawParams, requiredString } from "../params";

/**
 * compute_visualization (spec §9): UMAP, t-SNE, PCA or manual points from an embeddings
 * field, stored as the reference stores it — its per-method config class and
 * `VisualizationResults` with points and sample ids as base64 zlib .npy — so Python's
 * load_brain_results and the App's built-in Embeddings panel read the run as their own.
 * Defaults: the method from the brain config (`default_visualization_method`), each
 * method's parameters from the reference's defaults overridden by the brain config's
 * `visualization_methods.<method>` entry, overridden by the request.
 * Everything is computed and checked before the run is stored; on error nothing is written.
 */

export const VISUALIZATION_CONFIG_CLS: Record<VisualizationMethod, string> = {
  umap: "fiftyone.brain.visualization.UMAPVisualizationConfig",
  tsne: "fiftyone.brain.visualization.TSNEVisualizationConfig",
  pca: "fiftyone.brain.visualization.PCAVisualizationConfig",
  manual: "fiftyone.brain.visualization.ManualVisualizationConfig",
};
export const VISUALIZATION_RESULTS_CLS = "fiftyone.brain.visualization.VisualizationResults";

export type VisualizationMethod = "umap" | "tsne" | "pca" | "manual";
const METHODS: VisualizationMethod[] = ["umap", "tsne", "pca", "manual"];

export interface VisualizationResult {
  brainKey: string;
  method: VisualizationMethod;
  numDims: number;
  /** Samples (or patches, with patches_field) that got a point. */
  numPoints: number;
  /** Samples (patches: labels) of the view skipped because they have no embedding (or no manual point). */
  numMissing: number;
  numSamples: number;
  /** Bounding box of the points, per dimension. */
  min: number[];
  max: number[];
}

/** The reference's per-method parameters and defaults (config attributes, in its order). */
const METHOD_DEFAULTS: Record<VisualizationMethod, Record<string, unknown>> = {
  umap: { num_neighbors: 15, metric: "euclidean", min_dist: 0.1, seed: null, verbose: true },
  tsne: { pca_dims: 50, svd_solver: "randomized", metric: "euclidean", perplexity: 30.0, learning_rate: 200.0, max_iters: 1000, seed: null, verbose: true },
  pca: { svd_solver: "randomized", seed: null },
  manual: {},
};

export function resolveMethod(params: RawParams, config: BrainConfig = loadBrainConfig()): VisualizationMethod {
  const asked = optionalString(params, "method") ?? (params.points !== undefined && params.points !== null ? "manual" : config.default_visualization_method ?? "umap");
  // The brain config may expose fewer methods (FIFTYONE_BRAIN_VISUALIZATION_METHODS).
  const available = METHODS.filter((m) => m in config.visualization_methods);
  if (!(available as string[]).includes(asked)) {
    throw new BrainError("INVALID_PARAMS", `Unsupported method '${asked}'. The available methods are ${JSON.stringify(available)}`);
  }
  return asked as VisualizationMethod;
}

/** Reference defaults < brain config entry < request; unknown request keys are refused. */
export function resolveMethodParams(method: VisualizationMethod, params: RawParams, config: BrainConfig = loadBrainConfig()): Record<string, unknown> {
  const defaults = METHOD_DEFAULTS[method];
  const configured = { ...(config.visualization_methods[method] ?? {}) };
  delete configured.config_cls;
  const out: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(configured)) if (name in defaults) out[name] = value;
  for (const name of Object.keys(defaults)) if (params[name] !== undefined) out[name] = params[name];
  return out;
}

const GENERAL_PARAMS = new Set([
  "brain_key", "embeddings", "method", "num_dims", "points", "patches_field", "seed", "points_field", "create_index",
  // Where embeddings come from when no field holds them (runtime/embeddingSource.ts).
  "model", "model_manifest", "alpha", "force_square", "skip_failures", "batch_size",
]);

function number(p: Record<string, unknown>, name: string, check: (v: number) => boolean, what: string): number {
  const v = p[name];
  if (typeof v !== "number" || !check(v)) throw new BrainError("INVALID_PARAMS", `'${name}' must be ${what}; got ${JSON.stringify(v)}`);
  return v;
}

function seedOf(p: Record<string, unknown>): number | null {
  const v = p.seed;
  if (v === null || v === undefined) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new BrainError("INVALID_PARAMS", `'seed' must be a non-negative integer; got ${JSON.stringify(v)}`);
  return v;
}

export const visualizationJob: Job<VisualizationResult> = {
  name: "compute_visualization",
  description: "Compute a 2-D or 3-D visualization (UMAP, t-SNE, PCA or manual points) of an embeddings field",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    assertNewBrainKey(ctx.dataset, brainKey);
    const method = resolveMethod(params, ctx.brainConfig);
    for (const name of Object.keys(params)) {
      if (!GENERAL_PARAMS.has(name) && !(name in METHOD_DEFAULTS[method])) {
        throw new BrainError("INVALID_PARAMS", `Unknown parameter '${name}' for method '${method}'`);
      }
    }
    const patchesField = optionalString(params, "patches_field") ?? null;
    if (patchesField && method === "manual") {
      throw new BrainError("INVALID_PARAMS", "Manual points for patches are not supported yet: give points of samples");
    }
    const methodParams = resolveMethodParams(method, params, ctx.brainConfig);
    const pointsField = await resolvePointsField(ctx, params, brainKey, patchesField);
    const total = await requireSamples(ctx);

    let emb: EmbeddingsMatrix;
    let labelIds: string[] | null = null;
    let embeddingsField: string | null = null;
    let points: Float32Array;
    let numDims: number;
    if (method === "manual") {
      const read = await manualPoints(ctx, params);
      emb = read;
      embeddingsField = null;
      points = read.vectors;
      numDims = read.dim;
      checkNumDims(numDims, true);
      checkPointsDims(pointsField, numDims);
    } else {
      numDims = params.num_dims === undefined || params.num_dims === null ? 2 : (params.num_dims as number);
      checkNumDims(numDims, false);
      checkPointsDims(pointsField, numDims);
      // A stored field (sample vectors, or label attributes with patches_field), or a model run on the images.
      const source = await resolveEmbeddings(
        { ...ctx, progress: (f: number, label?: string) => ctx.progress(0.2 * f, label) },
        parseEmbeddingSourceParams(params),
      );
      embeddingsField = source.field;
      if (source.ids.length === 0) {
        throw new BrainError(
          "INVALID_DATA",
          patchesField
            ? `No '${patchesField}' label of the view's ${total} samples has an embedding '${embeddingsField}'`
            : `Embeddings field '${embeddingsField}' has no value on any of the ${total} samples of the view`,
        );
      }
      emb = { ids: source.ids, vectors: source.vectors, dim: source.dim, numMissing: source.numMissing };
      labelIds = source.labelIds ?? null;
      points = await reduce(ctx, method, emb, numDims, methodParams);
    }

    const config: RunConfig = {
      cls: VISUALIZATION_CONFIG_CLS[method],
      type: "visualization",
      method,
      embeddings_field: embeddingsField,
      points_field: pointsField?.name ?? null,
      similarity_index: null,
      model: null,
      model_kwargs: null,
      patches_field: patchesField,
      num_dims: numDims,
      ...methodParams,
    };
    ctx.signal.throwIfAborted();
    ctx.progress(0.97, "Saving the run");
    if (pointsField) await writePoints(ctx, pointsField, emb.ids, labelIds, points);
    try {
      await registerBrainRun(ctx.db, ctx.dataset, {
        key: brainKey,
        version: ctx.fiftyoneVersion,
        viewStages: ctx.target.viewStages ?? null,
        config,
        results: {
          cls: VISUALIZATION_RESULTS_CLS,
          reducer_blob: null,
          points: serializeNumpyAscii({ dtype: "<f4", shape: [emb.ids.length, numDims], data: points }),
          sample_ids: serializeNumpyAscii({ dtype: "<U", shape: [emb.ids.length], data: emb.ids }),
          label_ids: labelIds ? serializeNumpyAscii({ dtype: "<U", shape: [labelIds.length], data: labelIds }) : null,
        },
      });
    } catch (err) {
      if (pointsField) await removePoints(ctx, pointsField);
      throw err;
    }
    ctx.progress(1, `${emb.ids.length} points`);
    const min = Array.from({ length: numDims }, (_, c) => points.reduce((m, _v, t) => (t % numDims === c ? Math.min(m, points[t]) : m), Infinity));
    const max = Array.from({ length: numDims }, (_, c) => points.reduce((m, _v, t) => (t % numDims === c ? Math.max(m, points[t]) : m), -Infinity));
    return { brainKey, method, numDims, numPoints: emb.ids.length, numMissing: emb.numMissing, numSamples: total, min, max };
  },
};

/**
 * `points_field` / `create_index` as the reference takes them: `create_index` alone stores
 * the points in a field named after the brain key. Of samples: a new field (with
 * `create_index`, a "2d" database index on it). Of patches: a new attribute of the labels
 * (`create_index` does not apply, as in the reference). Checked before any work.
 */
async function resolvePointsField(ctx: JobContext, params: RawParams, brainKey: string, patchesField: string | null): Promise<PointsTarget | null> {
  const createIndex = optionalBoolean(params, "create_index", false);
  const name = optionalString(params, "points_field") ?? (createIndex ? brainKey : undefined);
  if (!name) return null;
  if (patchesField) {
    const labels = patchField(ctx.dataset, patchesField, "patches_field");
    const attr = attributeName(labels, name);
    const error = await newLabelAttributeError(ctx.db, ctx.dataset, labels, attr);
    if (error) throw new BrainError("FIELD_EXISTS", `${error}: choose another points field`);
    return { name: attr, createIndex: false, labels };
  }
  const error = validateNewFieldName(ctx.dataset, name);
  if (error) throw new BrainError("FIELD_EXISTS", `${error}: choose another points field`);
  return { name, createIndex, labels: null };
}

interface PointsTarget {
  name: string;
  createIndex: boolean;
  /** The label field whose labels get the attribute, for patches. */
  labels: PatchField | null;
}

/** Writes the 2-D points where `target` says: one [x, y] per sample, or per label. */
async function writePoints(ctx: JobContext, target: PointsTarget, ids: string[], labelIds: string[] | null, points: Float32Array): Promise<void> {
  if (!target.labels) return writePointsField(ctx.db, ctx.dataset, target.name, ids, points, target.createIndex);
  const rows = function* (): Generator<[string, string, [number, number]]> {
    for (let i = 0; i < ids.length; i++) yield [ids[i], labelIds![i], [points[2 * i], points[2 * i + 1]]];
  };
  await writeLabelPoints(ctx.db, ctx.dataset, target.labels, target.name, rows());
}

async function removePoints(ctx: JobContext, target: PointsTarget): Promise<void> {
  if (target.labels) await deleteLabelAttribute(ctx.db, ctx.dataset, target.labels, target.name);
  else await deleteSampleField(ctx.db, ctx.dataset, target.name);
}

function checkPointsDims(pointsField: { name: string } | null, numDims: number): void {
  if (pointsField && numDims !== 2) throw new BrainError("INVALID_PARAMS", `'points_field' is only supported when num_dims=2 (this visualization has ${numDims})`);
}

function checkNumDims(numDims: unknown, manual: boolean): void {
  if (numDims === 2 || numDims === 3) return;
  throw new BrainError(
    manual ? "INVALID_DATA" : "INVALID_PARAMS",
    manual ? `The manual points have ${numDims} dimensions; visualizations have 2 or 3` : `num_dims must be 2 or 3; got ${JSON.stringify(numDims)}`,
  );
}

/** Runs the method on the embeddings; every parameter is checked before the long work starts. */
async function reduce(ctx: JobContext, method: VisualizationMethod, emb: EmbeddingsMatrix, numDims: number, p: Record<string, unknown>): Promise<Float32Array> {
  const n = emb.ids.length;
  const progress = (from: number, to: number) => (f: number) => ctx.progress(from + (to - from) * f, `Computing ${method.toUpperCase()}`);
  if (emb.dim < numDims) {
    throw new BrainError("INVALID_DATA", `The embeddings have ${emb.dim} dimensions, fewer than the ${numDims} of the visualization`);
  }
  const seed = seedOf(p);
  if (method === "pca") {
    if (n < 2) throw new BrainError("INVALID_DATA", `PCA needs at least 2 samples with embeddings; there is ${n}`);
    ctx.progress(0.3, "Computing PCA");
    return pca(emb.vectors, n, emb.dim, numDims, ctx.signal);
  }
  if (method === "umap") {
    const numNeighbors = number(p, "num_neighbors", (v) => Number.isInteger(v) && v >= 2, "an integer ≥ 2");
    const minDist = number(p, "min_dist", (v) => v >= 0, "a number ≥ 0");
    const metric = p.metric;
    if (metric !== "euclidean" && metric !== "cosine") throw new BrainError("INVALID_PARAMS", `UMAP metric must be 'euclidean' or 'cosine'; got ${JSON.stringify(metric)}`);
    checkUmapInput(n, numNeighbors);
    const neighbors = await umapNeighbors(emb.vectors, emb.dim, numNeighbors - 1, metric, neighborOptions(n, numNeighbors - 1, ctx, 0.2, 0.4));
    return umap(emb.vectors, n, emb.dim, neighbors, { numDims, numNeighbors, minDist, seed, signal: ctx.signal, progress: progress(0.4, 0.95) });
  }
  // t-SNE
  const perplexity = number(p, "perplexity", (v) => v > 0, "a positive number");
  const learningRate = p.learning_rate === "auto" ? autoLearningRate(n) : number(p, "learning_rate", (v) => v > 0, "a positive number or 'auto'");
  const maxIters = number(p, "max_iters", (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  if (p.metric !== "euclidean") throw new BrainError("INVALID_PARAMS", `t-SNE metric must be 'euclidean'; got ${JSON.stringify(p.metric)}`);
  const pcaDims = p.pca_dims === null ? null : number(p, "pca_dims", (v) => Number.isInteger(v) && v >= 1, "a positive integer or null");
  checkTsneInput(n, perplexity);
  let x = emb.vectors;
  let dim = emb.dim;
  // The reference always projects to pca_dims first and fails when the data has fewer
  // dimensions or samples; here the projection happens only when it reduces something.
  if (pcaDims !== null && pcaDims < dim && pcaDims >= numDims) {
    ctx.progress(0.2, `Projecting to ${pcaDims} principal components`);
    x = await projectPca(await fitPca(x, n, dim, pcaDims, ctx.signal), x, n);
    dim = pcaDims;
  }
  const k = tsneNeighborCount(n, perplexity);
  const neighbors = await knnSelf(x, dim, k, "euclidean", neighborOptions(n, k, ctx, 0.3, 0.4));
  return tsne(x, n, dim, neighbors, {
    numDims, perplexity, learningRate, maxIters,
    earlyExaggeration: TSNE_DEFAULTS.earlyExaggeration,
    signal: ctx.signal,
    progress: progress(0.4, 0.95),
  });
}

/** Cancellation and progress (between `from` and `to`) of the neighbour search. */
function neighborOptions(n: number, k: number, ctx: JobContext, from: number, to: number): SelfKnnOptions {
  return {
    signal: ctx.signal,
    progress: (f) => ctx.progress(from + (to - from) * f, `Finding the ${k} nearest neighbours of ${n} samples`),
  };
}

/**
 * Manual points: a field of the view holding 2-D or 3-D vectors (`points: "field"`), a list
 * with one point per sample of the view in its order, or an object {sample id: point}.
 * Samples without a point are skipped and counted.
 */
async function manualPoints(ctx: JobContext, params: RawParams): Promise<EmbeddingsMatrix> {
  const supplied = params.points;
  if (supplied === undefined || supplied === null) throw new BrainError("INVALID_PARAMS", "You must provide your own `points` when `method='manual'`");
  if (typeof supplied === "string") {
    const read = await readEmbeddings(ctx.db, ctx.dataset, ctx.target, supplied, { signal: ctx.signal, progress: (f, l) => ctx.progress(0.9 * f, l) });
    if (read.ids.length === 0) throw new BrainError("INVALID_DATA", `Points field '${supplied}' has no value on any sample of the view`);
    return read;
  }
  const viewIds: string[] = [];
  for await (const batch of streamSamples<{ _id: { toHexString(): string } }>(ctx.db, ctx.dataset, ctx.target, { _id: 1 })) {
    for (const doc of batch) viewIds.push(doc._id.toHexString());
  }
  let pairs: [string, unknown][];
  if (Array.isArray(supplied)) {
    if (supplied.length !== viewIds.length) {
      throw new BrainError("INVALID_DATA", `The number of points (${supplied.length}) does not match the number of samples (${viewIds.length}) in the view`);
    }
    pairs = viewIds.map((id, i) => [id, supplied[i]]);
  } else if (typeof supplied === "object") {
    const byId = supplied as Record<string, unknown>;
    const inView = new Set(viewIds);
    const stray = Object.keys(byId).find((id) => !inView.has(id));
    if (stray) throw new BrainError("INVALID_DATA", `Point given for '${stray}', which is not a sample of the view`);
    pairs = viewIds.map((id) => [id, byId[id]]);
  } else {
    throw new BrainError("INVALID_PARAMS", "'points' must be a field name, a list of points or an object of points by sample id");
  }
  const ids: string[] = [];
  const values: number[] = [];
  let dim = -1;
  for (const [id, point] of pairs) {
    if (point === undefined || point === null) continue;
    if (!Array.isArray(point) || !point.every((v) => typeof v === "number" && Number.isFinite(v))) {
      throw new BrainError("INVALID_DATA", `The point of sample '${id}' is not a list of finite numbers`);
    }
    if (dim < 0) dim = point.length;
    if (point.length !== dim) throw new BrainError("INVALID_DATA", `Points have different dimensions: sample '${id}' has ${point.length}, others ${dim}`);
    ids.push(id);
    values.push(...(point as number[]));
  }
  if (ids.length === 0) throw new BrainError("INVALID_DATA", "No sample of the view has a point");
  return { ids, vectors: Float32Array.from(values), dim, numMissing: viewIds.length - ids.length };
}
