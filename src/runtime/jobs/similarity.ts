import { ObjectId } from "mongodb";
import { defaultModelRef, sharedEmbeddingModel } from "../../embeddings/loadModel";
import { BrainError } from "../../errors";
import { samplesCollection } from "../../fiftyone/datasets";
import { writeScoreField } from "../../fiftyone/fields";
import { attributeName, patchField, writeLabelScores } from "../../fiftyone/labelEmbeddings";
import { assertNewBrainKey, getBrainRun, registerBrainRun, RunDoc, loadBrainResults } from "../../fiftyone/runs";
import { checkEmbeddingsSource, gridfsStore, ItemsMatrix, patchListPath, readIndexItems, replaceRunResults, viewSampleIds } from "../../fiftyone/similarityRuns";
import { BackendContext, BACKENDS, backendOfRun, createIndex, defaultBackendName, getBackend, markFieldBacked, resolveBackendParams, StoredIndex } from "../../index/backends";
import { ExactIndex } from "../../index/exactIndex";
import { QueryResult, SimilarityIndex, SimilarityMetric } from "../../index/similarityIndex";
import { cacheKey, LoadedIndex, withIndex, rekey } from "../indexCache";
import { parseEmbeddingSourceParams, resolveEmbeddings } from "../embeddingSource";
import { Job, JobContext } from "../job";
import { optionalBoolean, optionalString, RawParams, requiredString } from "../params";
import { parseSortParams, SimilarityIndexInfo, SortBySimilarityParams, SortBySimilarityResult } from "./similarityParams";

export type { SimilarityIndexInfo, SortBySimilarityResult } from "./similarityParams";

/**
 * Similarity indexes as brain runs (type "similarity"), over an embeddings field of the
 * samples or of the labels of a patches field. Exact runs are stored as the reference's
 * sklearn runs (Python loads and queries them); other backends store their state with
 * the run (see src/index/backends.ts). Queries go through a cache of loaded indexes.
 */

const METRICS: SimilarityMetric[] = ["cosine", "euclidean", "dotproduct"];

function backendContext(ctx: JobContext, config: Record<string, unknown>): BackendContext {
  return {
    store: gridfsStore(ctx.db),
    brainConfig: ctx.brainConfig,
    async readFieldItems() {
      const field = config.embeddings_field;
      if (typeof field !== "string") throw new BrainError("INVALID_DATA", "This similarity run has no embeddings field to read");
      const patches = typeof config.patches_field === "string" ? config.patches_field : null;
      const { items, dim } = await readIndexItems(ctx.db, ctx.dataset, {}, field, patches, { signal: ctx.signal });
      return { items, dim };
    },
  };
}

function runVersion(run: RunDoc): string {
  return `${run._id.toHexString()}:${run.timestamp.getTime()}:${run.results?.toHexString() ?? "-"}`;
}

export async function similarityRun(ctx: JobContext, brainKey: string): Promise<RunDoc> {
  const run = await getBrainRun(ctx.db, ctx.dataset, brainKey);
  if (run.config.type !== "similarity") {
    // Generic runs all have type "brain": their method says what they are.
    const kind = run.config.type === "brain" && typeof run.config.method === "string" ? run.config.method : run.config.type;
    throw new BrainError("INVALID_PARAMS", `Brain run '${brainKey}' is a ${String(kind)} run, not a similarity index`);
  }
  return run;
}

async function loadRunIndex(ctx: JobContext, run: RunDoc): Promise<LoadedIndex> {
  const spec = backendOfRun(run.config);
  const stored: StoredIndex = { config: run.config, results: await loadBrainResults(ctx.db, run) };
  const index = await spec.load(stored, backendContext(ctx, run.config));
  const sampleOf = typeof run.config.patches_field === "string" ? await sampleMap(index) : null;
  const size = await index.size();
  return { index, spec, stored, sampleOf, bytes: size * index.dim * 4 + size * 64 };
}

async function sampleMap(index: SimilarityIndex): Promise<Map<string, string>> {
  const all = await index.getEmbeddings();
  return new Map(all.ids.map((id, i) => [id, all.sampleIds?.[i] ?? id]));
}

/** Runs `use` on a run's loaded index (cached by the warm runtime). */
export async function withRunIndex<R>(ctx: JobContext, brainKey: string, use: (loaded: LoadedIndex, run: RunDoc) => Promise<R>): Promise<R> {
  const run = await similarityRun(ctx, brainKey);
  const key = cacheKey(ctx.dataset._id.toHexString(), brainKey, runVersion(run));
  return withIndex(key, () => loadRunIndex(ctx, run), (loaded) => use(loaded, run));
}

async function describe(run: RunDoc, loaded: LoadedIndex): Promise<SimilarityIndexInfo> {
  const c = run.config;
  return {
    brain_key: run.key,
    backend: loaded.spec.name,
    metric: loaded.index.metric,
    size: await loaded.index.size(),
    dim: loaded.index.dim,
    embeddings_field: typeof c.embeddings_field === "string" ? c.embeddings_field : null,
    patches_field: typeof c.patches_field === "string" ? c.patches_field : null,
    model: typeof c.model === "string" ? c.model : null,
    supports_prompts: c.supports_prompts === true,
    max_k: loaded.index.capabilities.maxK ?? null,
    supports_least_similarity: loaded.index.capabilities.supportsLeastSimilarity,
    timestamp: run.timestamp.toISOString(),
  };
}

export interface ComputeSimilarityResult extends SimilarityIndexInfo {
  num_missing: number;
}

export const computeSimilarityJob: Job<ComputeSimilarityResult> = {
  name: "compute_similarity",
  description: "Build a similarity index from an embeddings field and store it as a brain run",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    assertNewBrainKey(ctx.dataset, brainKey);
    const field = requiredString(params, "embeddings");
    const patchesField = optionalString(params, "patches_field") ?? null;
    if (!params.model) checkEmbeddingsSource(ctx.dataset, field, patchesField);
    const spec = getBackend(optionalString(params, "backend") ?? defaultBackendName(process.env, ctx.brainConfig));
    const given: Record<string, unknown> = { metric: params.metric };
    for (const p of spec.params) given[p.name] = params[p.name];
    const backendParams = resolveBackendParams(spec.name, given, process.env, ctx.brainConfig);
    const metric = (backendParams.metric ?? spec.defaultMetric) as SimilarityMetric;
    if (!METRICS.includes(metric) || !spec.metrics.includes(metric)) {
      throw new BrainError("INVALID_PARAMS", `Unsupported metric '${String(metric)}' for the ${spec.name} backend: use ${spec.metrics.join(", ")}`);
    }
    const config = { embeddings_field: field, patches_field: patchesField };
    const bctx = backendContext(ctx, config);
    ctx.progress(0.05, "Reading embeddings");
    // As the reference: an index backed by its embeddings field covers the whole dataset's field.
    const target = spec.fieldBacked ? {} : ctx.target;
    const progress = (f: number) => ctx.progress(0.05 + 0.35 * f, "Reading embeddings");
    // With a model, embeddings it computes are stored in the field first (runtime/embeddingSource.ts).
    const read = params.model
      ? await modelIndexItems({ ...ctx, target, progress }, params)
      : await readIndexItems(ctx.db, ctx.dataset, target, field, patchesField, { signal: ctx.signal, progress });
    if (read.items.ids.length === 0) {
      throw new BrainError("EMPTY_VIEW", `No ${patchesField ? `label of '${patchesField}'` : "sample"} of the ${spec.fieldBacked ? "dataset" : "view"} has embeddings in '${field}'`);
    }
    ctx.progress(0.4, `Indexing ${read.items.ids.length} embeddings`);
    const index = await createIndex(spec.name, { metric, dim: read.dim, patches: patchesField !== null, params: backendParams, capacity: read.items.ids.length, runName: { dataset: ctx.dataset.name, brainKey } }, bctx);
    let stored: StoredIndex;
    try {
      await index.add(read.items);
      ctx.signal.throwIfAborted();
      if (spec.fieldBacked) markFieldBacked(index);
      ctx.progress(0.8, "Storing the index");
      stored = await spec.persist(index, bctx, null);
    } catch (err) {
      // Nothing half-written: an external table or collection made for this run goes too.
      if (spec.abandon) await spec.abandon(index).catch(() => undefined);
      throw err;
    }
    const runConfig = {
      cls: spec.configCls,
      type: "similarity",
      method: spec.method,
      embeddings_field: field,
      model: typeof params.model === "string" ? params.model : null,
      model_kwargs: null,
      patches_field: patchesField,
      roi_field: null,
      supports_prompts: params.model ? (await sharedEmbeddingModel(String(params.model))).supportsPrompts : null,
      ...stored.config,
    };
    let run: RunDoc;
    try {
      // Registered on the dataset, as the reference registers similarity runs (no view stages).
      run = await registerBrainRun(ctx.db, ctx.dataset, { key: brainKey, version: ctx.fiftyoneVersion, viewStages: null, config: runConfig, results: stored.results });
    } catch (err) {
      await spec.cleanup(stored, bctx);
      await index.close();
      throw err;
    }
    const loaded: LoadedIndex = {
      index,
      spec,
      stored: { config: runConfig, results: stored.results },
      sampleOf: patchesField ? await sampleMap(index) : null,
      bytes: read.items.vectors.byteLength,
    };
    await withIndex(cacheKey(ctx.dataset._id.toHexString(), brainKey, runVersion(run)), async () => loaded, async () => undefined);
    ctx.progress(1, `Indexed ${read.items.ids.length} embeddings`);
    return { ...(await describe(run, loaded)), num_missing: read.numMissing };
  },
};

/** The query as vectors (one row, or several for post-aggregations), or null for id queries handled by the index. */
async function queryVector(loaded: LoadedIndex, run: RunDoc, p: SortBySimilarityParams): Promise<Float32Array> {
  const dim = loaded.index.dim;
  if (p.query_vector) {
    if (p.query_vector.length !== dim) {
      throw new BrainError("INVALID_PARAMS", `The query vector has ${p.query_vector.length} values but this index's embeddings have dimension ${dim}`);
    }
    return Float32Array.from(p.query_vector);
  }
  if (p.text !== undefined || p.image) {
    // Queries are embedded by the index's model (the default model for indexes built from a field).
    const modelName = typeof run.config.model === "string" ? run.config.model : defaultModelRef();
    if (p.text !== undefined && run.config.supports_prompts !== true) {
      throw new BrainError("INVALID_PARAMS", `Invalid query '${p.text}'; this model does not support prompts`);
    }
    const model = await sharedEmbeddingModel(modelName);
    if (model.dim !== dim) {
      throw new BrainError(
        "INVALID_PARAMS",
        `This index holds ${dim}-d embeddings, but the model '${model.name}' gives ${model.dim}-d ones: ${p.text !== undefined ? "text" : "image"} queries need an index built from that model's embeddings`,
      );
    }
    if (p.text !== undefined) {
      if (!model.embedTexts) throw new BrainError("INVALID_PARAMS", `Invalid query '${p.text}'; the model '${model.name}' does not support prompts`);
      return model.embedTexts([p.text]);
    }
    const source = p.image!.path ?? Buffer.from(p.image!.base64!.replace(/^data:[^,]*,/, ""), "base64");
    let embedded;
    try {
      embedded = await model.embedImages([source], { skipFailures: false });
    } catch (err) {
      throw new BrainError("MEDIA_UNREADABLE", `The query image cannot be read: ${(err as Error).message}`);
    }
    return embedded.vectors;
  }
  throw new BrainError("INVALID_PARAMS", "At least one query must be provided");
}

/** The items a query may return: those of the view's samples (null = no restriction). */
function restriction(loaded: LoadedIndex, viewIds: Set<string> | null): Set<string> | null {
  if (!viewIds || !loaded.sampleOf) return viewIds;
  const items = new Set<string>();
  for (const [item, sample] of loaded.sampleOf) if (viewIds.has(sample)) items.add(item);
  return items;
}

/** In a patch index, a selected sample stands for its labels (the grid selects samples). */
function expandSampleIds(sampleOf: Map<string, string>, ids: string[]): string[] {
  const labelsOf = new Map<string, string[]>();
  for (const [label, sample] of sampleOf) {
    const list = labelsOf.get(sample);
    if (list) list.push(label);
    else labelsOf.set(sample, [label]);
  }
  return ids.flatMap((id) => (sampleOf.has(id) ? [id] : labelsOf.get(id) ?? [id]));
}

/** Runs one query on a loaded index, limited to the view's items. */
export async function runQuery(loaded: LoadedIndex, run: RunDoc, p: SortBySimilarityParams, viewIds: Set<string> | null): Promise<QueryResult> {
  const { index } = loaded;
  const caps = index.capabilities;
  if (p.reverse && !caps.supportsLeastSimilarity) {
    throw new BrainError("INVALID_PARAMS", `The ${loaded.spec.name} backend does not support least-similarity queries (reverse)`);
  }
  if (p.k !== undefined && caps.maxK !== undefined && p.k > caps.maxK) {
    throw new BrainError("INVALID_PARAMS", `The ${loaded.spec.name} backend returns at most ${caps.maxK} results; got k=${p.k}`);
  }
  if (p.aggregation !== "mean" && !(index instanceof ExactIndex)) {
    throw new BrainError("INVALID_PARAMS", `The ${loaded.spec.name} backend supports only the 'mean' aggregation`);
  }
  const restrictTo = restriction(loaded, viewIds) ?? undefined;
  const options = { k: p.k, reverse: p.reverse, restrictTo };
  if (p.query_ids && loaded.sampleOf) p = { ...p, query_ids: expandSampleIds(loaded.sampleOf, p.query_ids) };
  if (p.query_ids) {
    if (index instanceof ExactIndex) return index.queryByIds(p.query_ids, { ...options, aggregation: p.aggregation });
    const found = await index.getEmbeddings(p.query_ids);
    const missing = p.query_ids.filter((id) => !found.ids.includes(id));
    if (missing.length) throw new BrainError("INVALID_PARAMS", `Query IDs ${JSON.stringify(missing.slice(0, 5))} do not exist in this index`);
    const mean = new Float32Array(index.dim);
    for (let i = 0; i < found.ids.length; i++) for (let k = 0; k < index.dim; k++) mean[k] += found.vectors[i * index.dim + k] / found.ids.length;
    return (await index.query(mean, options))[0];
  }
  return (await index.query(await queryVector(loaded, run, p), options))[0];
}

export const sortBySimilarityJob: Job<SortBySimilarityResult> = {
  name: "sort_by_similarity",
  description: "The view's samples (or patches) most similar to a query, in order, with distances",
  async run(ctx, params) {
    const p = parseSortParams(params);
    const viewIds = await viewSampleIds(ctx.db, ctx.dataset, ctx.target);
    const { result, sampleOf, patchesField } = await withRunIndex(ctx, p.brain_key, async (loaded, run) => {
      const found = await runQuery(loaded, run, p, viewIds);
      const pf = typeof run.config.patches_field === "string" ? run.config.patches_field : null;
      return { result: found, sampleOf: loaded.sampleOf, patchesField: pf };
    });
    const distances = Array.from(result.distances);
    if (p.dist_field && patchesField) {
      // On the labels found (what the reference means to do; its own call fails, see README).
      const field = patchField(ctx.dataset, patchesField, "patches_field");
      const attr = attributeName(field, p.dist_field);
      await writeLabelScores(ctx.db, ctx.dataset, field, attr, result.ids.map((id, i): [string, string, number] => [sampleOf?.get(id) ?? id, id, distances[i]]));
    } else if (p.dist_field) {
      await writeScoreField(ctx.db, ctx.dataset, p.dist_field, result.ids.map((id, i): [string, number] => [id, distances[i]]));
    }
    return {
      ids: result.ids,
      distances,
      ...(sampleOf ? { sample_ids: result.ids.map((id) => sampleOf.get(id) ?? id) } : {}),
      patches_field: patchesField,
    };
  },
};

export const listSimilarityIndexesJob: Job<{ indexes: SimilarityIndexInfo[] }> = {
  name: "list_similarity_indexes",
  description: "The dataset's similarity indexes with their backend, metric and size",
  async run(ctx) {
    const indexes: SimilarityIndexInfo[] = [];
    for (const key of Object.keys(ctx.dataset.brain_methods ?? {}).sort()) {
      const run = await getBrainRun(ctx.db, ctx.dataset, key);
      if (run.config.type !== "similarity") continue;
      try {
        indexes.push(await withRunIndex(ctx, key, (loaded, r) => describe(r, loaded)));
      } catch {
        // Runs of backends not shipped here (or unreadable) are still listed, without a size.
        indexes.push({
          brain_key: key,
          backend: String(run.config.method),
          metric: String(run.config.metric ?? ""),
          size: -1,
          dim: -1,
          embeddings_field: typeof run.config.embeddings_field === "string" ? run.config.embeddings_field : null,
          patches_field: typeof run.config.patches_field === "string" ? run.config.patches_field : null,
          model: typeof run.config.model === "string" ? run.config.model : null,
          supports_prompts: run.config.supports_prompts === true,
          max_k: null,
          supports_least_similarity: false,
          timestamp: run.timestamp.toISOString(),
        });
      }
    }
    return { indexes };
  },
};

export const similarityIndexInfoJob: Job<SimilarityIndexInfo> = {
  name: "get_similarity_index_info",
  description: "Backend, metric and size of a similarity index",
  async run(ctx, params) {
    return withRunIndex(ctx, requiredString(params, "brain_key"), (loaded, run) => describe(run, loaded));
  },
};

/** Stores an index's changed state with its run; the cache entry follows the new version. */
async function persistChange(ctx: JobContext, loaded: LoadedIndex, run: RunDoc): Promise<void> {
  const bctx = backendContext(ctx, run.config);
  const oldKey = cacheKey(ctx.dataset._id.toHexString(), run.key, runVersion(run));
  const stored = await loaded.spec.persist(loaded.index, bctx, loaded.stored);
  await replaceRunResults(ctx.db, run, stored.results ?? {}, stored.config);
  loaded.stored = { config: run.config, results: stored.results };
  if (loaded.sampleOf) loaded.sampleOf = await sampleMap(loaded.index);
  rekey(oldKey, cacheKey(ctx.dataset._id.toHexString(), run.key, runVersion(run)));
}

export interface IndexChangeResult {
  added: number;
  replaced: number;
  skipped: number;
  removed: number;
  size: number;
}

export const addToIndexJob: Job<IndexChangeResult> = {
  name: "add_to_index",
  description: "Add (or replace) the view's embeddings in a similarity index",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const overwrite = optionalBoolean(params, "overwrite", true);
    return withRunIndex(ctx, brainKey, async (loaded, run) => {
      const runField = run.config.embeddings_field;
      const field = optionalString(params, "embeddings") ?? (typeof runField === "string" ? runField : undefined);
      if (!field) throw new BrainError("INVALID_PARAMS", "'embeddings' (the field to add from) is required: this index has no embeddings field");
      if (loaded.spec.fieldBacked && field !== runField) {
        throw new BrainError("INVALID_PARAMS", `This index is backed by the field '${String(runField)}': add embeddings to that field, then add them to the index from it`);
      }
      const patches = typeof run.config.patches_field === "string" ? run.config.patches_field : null;
      const read = await readIndexItems(ctx.db, ctx.dataset, ctx.target, field, patches, { signal: ctx.signal });
      if (read.items.ids.length && read.dim !== loaded.index.dim) {
        throw new BrainError("INVALID_DATA", `Embeddings in '${field}' have dimension ${read.dim}, but this index has dimension ${loaded.index.dim}`);
      }
      const r = await loaded.index.add(read.items, { overwrite });
      await persistChange(ctx, loaded, run);
      return { ...r, removed: 0, size: await loaded.index.size() };
    });
  },
};

export const removeFromIndexJob: Job<IndexChangeResult> = {
  name: "remove_from_index",
  description: "Remove samples (or labels) from a similarity index",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const given = params.ids;
    if (given !== undefined && (!Array.isArray(given) || given.some((x) => typeof x !== "string"))) {
      throw new BrainError("INVALID_PARAMS", "'ids' must be a list of sample (or label) ids");
    }
    const viewIds = given ? null : await viewSampleIds(ctx.db, ctx.dataset, ctx.target);
    return withRunIndex(ctx, brainKey, async (loaded, run) => {
      let ids: string[];
      if (given) ids = given as string[];
      else if (viewIds) ids = loaded.sampleOf ? [...loaded.sampleOf].filter(([, s]) => viewIds.has(s)).map(([i]) => i) : [...viewIds];
      else throw new BrainError("INVALID_PARAMS", "Give the ids to remove, or run on a view (removing the whole dataset is a delete of the run)");
      const removed = await loaded.index.remove(ids);
      if (removed > 0 && loaded.spec.fieldBacked) await clearFieldValues(ctx, run, ids);
      await persistChange(ctx, loaded, run);
      return { added: 0, replaced: 0, skipped: 0, removed, size: await loaded.index.size() };
    });
  },
};

/** A field-backed index is its field: removed items lose their value there (as the reference does). */
async function clearFieldValues(ctx: JobContext, run: RunDoc, ids: string[]): Promise<void> {
  const field = run.config.embeddings_field as string;
  const objectIds = ids.filter((id) => ObjectId.isValid(id)).map((id) => new ObjectId(id));
  const samples = samplesCollection(ctx.db, ctx.dataset);
  const patches = run.config.patches_field;
  if (typeof patches === "string") {
    const list = patchListPath(ctx.dataset, patches);
    await samples.updateMany(
      { [`${patches}.${list}._id`]: { $in: objectIds } },
      { $set: { [`${patches}.${list}.$[l].${field}`]: null } },
      { arrayFilters: [{ "l._id": { $in: objectIds } }] },
    );
  } else {
    await samples.updateMany({ _id: { $in: objectIds } }, { $set: { [field]: null, last_modified_at: new Date() } });
  }
}

/** Deletes a similarity run's external state (used before the run itself is deleted). */
export async function cleanupSimilarityRun(ctx: JobContext, run: RunDoc): Promise<void> {
  if (run.config.type !== "similarity") return;
  const spec = Object.values(BACKENDS).find((b) => b.method === run.config.method);
  if (!spec) return;
  await spec.cleanup({ config: run.config, results: await loadBrainResults(ctx.db, run) }, backendContext(ctx, run.config));
}

export const SIMILARITY_JOBS: Job[] = [
  computeSimilarityJob,
  sortBySimilarityJob,
  listSimilarityIndexesJob,
  similarityIndexInfoJob,
  addToIndexJob,
  removeFromIndexJob,
];


/** Index items from a model run on the view's images (whole, or per patch), stored in the named field. */
async function modelIndexItems(ctx: JobContext, params: RawParams): Promise<ItemsMatrix> {
  const source = await resolveEmbeddings(ctx, parseEmbeddingSourceParams(params));
  const items = source.labelIds ? { ids: source.labelIds, sampleIds: source.ids, vectors: source.vectors } : { ids: source.ids, vectors: source.vectors };
  return { items, dim: source.dim, numMissing: source.numMissing + source.numFailures };
}
