import { Db } from "mongodb";
import { sharedEmbeddingModel } from "../../embeddings/loadModel";
import { BrainError } from "../../errors";
import { DatasetDoc, FieldDoc, loadDataset, samplesCollection } from "../../fiftyone/datasets";
import { queryRecordFieldError } from "../../fiftyone/queryRecordFields";
import { RunDoc } from "../../fiftyone/runs";
import { toObjectIds } from "../../fiftyone/samples";
import { Job, JobContext } from "../job";
import { optionalInteger, optionalString, RawParams, requiredString } from "../params";
import { runQuery, similarityRun, withRunIndex } from "./similarity";
import { SortBySimilarityParams } from "./similarityParams";

/**
 * The query half of "add similar samples": another dataset's similarity index is queried
 * (by the selected samples of this dataset, embedded with the index's model, or by a text
 * prompt), and the results whose filepath this dataset does not have yet are returned in
 * order. The copy itself is made by FiftyOne (`add_samples`, on the bridge's Python side):
 * samples carry arbitrary label and embedded-document fields, and only FiftyOne's own code
 * merges their schema into the destination's and gives the copies their new ids exactly as
 * FiftyOne does. Everything that can be refused is refused here, before anything is written.
 */

export const DEFAULT_ADD_K = 25;

export interface FindSimilarSamplesResult {
  src_dataset: string;
  brain_key: string;
  search: "image" | "text";
  /** The text prompt (text searches), null for image searches. */
  query: string | null;
  /** Source sample ids to copy, most similar first (existing filepaths left out). */
  ids: string[];
  /** Their filepaths, in the same order. */
  filepaths: string[];
  distances: number[];
  /** Results left out because this dataset already has a sample with their filepath. */
  skipped_ids: string[];
  num_found: number;
  num_skipped: number;
  query_field: string | null;
  query_time_field: string | null;
}

/**
 * Fields (embedded attributes included, as dotted paths) both datasets declare with
 * different types: FiftyOne could not add the copies. Attributes the source does not
 * declare cannot be seen here; the copy step undoes its work if FiftyOne refuses them.
 */
function schemaConflicts(src: DatasetDoc, dst: DatasetDoc): string[] {
  const conflicts: string[] = [];
  const same = (a: FieldDoc, b: FieldDoc) => a.ftype === b.ftype && (a.embedded_doc_type ?? null) === (b.embedded_doc_type ?? null) && (a.subfield ?? null) === (b.subfield ?? null);
  const walk = (a: readonly FieldDoc[], b: readonly FieldDoc[], prefix: string) => {
    for (const f of a) {
      const g = b.find((x) => x.name === f.name);
      if (!g) continue;
      if (!same(f, g)) conflicts.push(`'${prefix}${f.name}' (${typeLabel(f)} in '${src.name}', ${typeLabel(g)} in '${dst.name}')`);
      else if (f.fields?.length && g.fields?.length) walk(f.fields, g.fields, `${prefix}${f.name}.`);
    }
  };
  walk(src.sample_fields, dst.sample_fields, "");
  return conflicts;
}

function typeLabel(f: FieldDoc): string {
  const short = (s: string | null) => (s ? s.split(".").pop() : "");
  return f.embedded_doc_type ? `${short(f.ftype)}(${short(f.embedded_doc_type)})` : f.subfield ? `${short(f.ftype)}(${short(f.subfield)})` : short(f.ftype) ?? f.ftype;
}

interface SimilarQuery {
  src: DatasetDoc;
  brainKey: string;
  k: number;
  text: string | null;
  queryIds: string[] | null;
  queryField: string | null;
  queryTimeField: string | null;
}

function idList(params: RawParams, name: string): string[] | null {
  const v = params[name];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new BrainError("INVALID_PARAMS", `'${name}' must be a list of sample ids`);
  return v as string[];
}

/** Parses and checks everything that does not need the index loaded. */
async function parseQuery(ctx: JobContext, params: RawParams): Promise<SimilarQuery> {
  const srcName = requiredString(params, "src_dataset");
  if (srcName === ctx.dataset.name) {
    throw new BrainError("INVALID_PARAMS", `The source dataset must be another dataset than '${ctx.dataset.name}': samples are added from it to this one`);
  }
  const src = await loadDataset(ctx.db, srcName);
  const brainKey = requiredString(params, "brain_key");
  const k = optionalInteger(params, "k", DEFAULT_ADD_K, 1);
  const text = optionalString(params, "query")?.trim() || null;
  const queryIds = idList(params, "query_ids");
  if (text !== null && queryIds?.length) {
    throw new BrainError("INVALID_PARAMS", "Give either a text 'query' or the selected samples ('query_ids'), not both");
  }
  if (text === null && !queryIds?.length) {
    throw new BrainError("INVALID_PARAMS", "Select samples to search by image, or give a text 'query'");
  }
  const queryField = optionalString(params, "query_field") ?? null;
  const queryTimeField = optionalString(params, "query_time_field") ?? null;
  if (queryField !== null && text === null) {
    throw new BrainError("INVALID_PARAMS", "'query_field' records the text prompt: an image search (selected samples) has none");
  }
  if (queryField !== null && queryField === queryTimeField) {
    throw new BrainError("INVALID_PARAMS", `'query_field' and 'query_time_field' must be different fields ('${queryField}')`);
  }
  for (const [name, kind, param] of [
    [queryField, "StringField", "query_field"],
    [queryTimeField, "DateTimeField", "query_time_field"],
  ] as const) {
    const error = name === null ? null : queryRecordFieldError(ctx.dataset.sample_fields, ctx.dataset.name, name, kind, param);
    if (error) throw new BrainError("INVALID_FIELD_TYPE", error);
  }
  const srcMedia = src.media_type ?? null;
  const dstMedia = ctx.dataset.media_type ?? null;
  if (srcMedia === "group" || dstMedia === "group") throw new BrainError("INVALID_PARAMS", "Grouped datasets are not supported: samples are copied one by one");
  if (srcMedia && dstMedia && srcMedia !== dstMedia) {
    throw new BrainError("INVALID_PARAMS", `Dataset '${src.name}' holds ${srcMedia} samples but '${ctx.dataset.name}' holds ${dstMedia} samples`);
  }
  const conflicts = schemaConflicts(src, ctx.dataset);
  if (conflicts.length) {
    throw new BrainError("INVALID_FIELD_TYPE", `The copies cannot be added: fields with the same name and different types: ${conflicts.slice(0, 5).join(", ")}`);
  }
  return { src, brainKey, k, text, queryIds: queryIds?.length ? queryIds : null, queryField, queryTimeField };
}

/** Checks the run can answer this kind of query (before any model is loaded). */
function checkRun(run: RunDoc, q: SimilarQuery): void {
  const c = run.config;
  if (typeof c.patches_field === "string") {
    throw new BrainError("INVALID_PARAMS", `'${q.brainKey}' indexes the objects of '${c.patches_field}', not samples: choose an index of whole samples`);
  }
  if (q.text === null && typeof c.model !== "string") {
    throw new BrainError(
      "INVALID_PARAMS",
      `The similarity index '${q.brainKey}' of '${q.src.name}' does not record the model its embeddings were computed with, so the selected samples cannot be embedded to query it: choose an index built with a model`,
    );
  }
  if (q.text !== null && c.supports_prompts !== true) {
    throw new BrainError("INVALID_PARAMS", `The similarity index '${q.brainKey}' of '${q.src.name}' does not support text prompts: choose an index built with an image+text model`);
  }
}

/** The selected samples of the destination embedded with the index's model, averaged (as the reference's "mean" aggregation of query vectors). */
async function selectionVector(db: Db, dst: DatasetDoc, ids: string[], modelName: string, dim: number): Promise<number[]> {
  const docs = await samplesCollection(db, dst)
    .find({ _id: { $in: toObjectIds(ids) } }, { projection: { filepath: 1 } })
    .toArray();
  if (docs.length !== new Set(ids).size) {
    const found = new Set(docs.map((d) => d._id.toHexString()));
    const missing = ids.filter((id) => !found.has(id));
    throw new BrainError("INVALID_PARAMS", `Selected samples ${JSON.stringify(missing.slice(0, 5))} are not in dataset '${dst.name}'`);
  }
  const model = await sharedEmbeddingModel(modelName);
  if (model.dim !== dim) {
    throw new BrainError("INVALID_PARAMS", `The index holds ${dim}-d embeddings, but its model '${model.name}' gives ${model.dim}-d ones: rebuild the index with that model`);
  }
  let embedded;
  try {
    embedded = await model.embedImages(docs.map((d) => String(d.filepath)), { skipFailures: false });
  } catch (err) {
    throw new BrainError("MEDIA_UNREADABLE", `A selected image cannot be read: ${(err as Error).message}`);
  }
  const n = embedded.indices.length;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += embedded.vectors[i * dim + j];
  return Array.from(mean, (v) => v / n);
}

export const findSimilarSamplesJob: Job<FindSimilarSamplesResult> = {
  name: "find_similar_samples",
  description: "Samples of another dataset similar to this dataset's selection or to a text prompt, not yet in this dataset (by filepath)",
  async run(ctx, params) {
    const q = await parseQuery(ctx, params);
    const srcCtx: JobContext = { ...ctx, dataset: q.src, target: { viewStages: null } };
    const run = await similarityRun(srcCtx, q.brainKey);
    checkRun(run, q);
    ctx.progress(0.1, q.text === null ? "Embedding the selected samples" : "Embedding the prompt");
    const found = await withRunIndex(srcCtx, q.brainKey, async (loaded, r) => {
      const p: SortBySimilarityParams = { brain_key: q.brainKey, k: q.k, reverse: false, aggregation: "mean" };
      if (q.text !== null) p.text = q.text;
      else p.query_vector = await selectionVector(ctx.db, ctx.dataset, q.queryIds!, String(r.config.model), loaded.index.dim);
      ctx.progress(0.5, "Querying the index");
      return runQuery(loaded, r, p, null);
    });
    // Filepaths of the results, then those this dataset already has (and repeats among the results).
    const srcDocs = await samplesCollection(ctx.db, q.src)
      .find({ _id: { $in: toObjectIds(found.ids) } }, { projection: { filepath: 1 } })
      .toArray();
    const pathOf = new Map(srcDocs.map((d) => [d._id.toHexString(), String(d.filepath)]));
    const paths = [...new Set(pathOf.values())];
    const existing = new Set(
      (await samplesCollection(ctx.db, ctx.dataset).find({ filepath: { $in: paths } }, { projection: { filepath: 1 } }).toArray()).map((d) => String(d.filepath)),
    );
    const result: FindSimilarSamplesResult = {
      src_dataset: q.src.name,
      brain_key: q.brainKey,
      search: q.text === null ? "image" : "text",
      query: q.text,
      ids: [],
      filepaths: [],
      distances: [],
      skipped_ids: [],
      num_found: found.ids.length,
      num_skipped: 0,
      query_field: q.queryField,
      query_time_field: q.queryTimeField,
    };
    found.ids.forEach((id, i) => {
      const path = pathOf.get(id);
      // An index entry whose sample was deleted since indexing has no filepath: nothing to copy.
      if (path === undefined || existing.has(path)) {
        result.skipped_ids.push(id);
        return;
      }
      existing.add(path);
      result.ids.push(id);
      result.filepaths.push(path);
      result.distances.push(found.distances[i]);
    });
    result.num_skipped = result.skipped_ids.length;
    ctx.progress(1, `${result.ids.length} samples to add, ${result.num_skipped} already present`);
    return result;
  },
};

/** A dataset's similarity indexes as the add-similar form offers them. */
export interface SimilaritySource {
  dataset: string;
  media_type: string | null;
  indexes: Array<{ brain_key: string; model: string | null; supports_prompts: boolean; patches_field: string | null }>;
}

export const listSimilaritySourcesJob: Job<{ sources: SimilaritySource[] }> = {
  name: "list_similarity_sources",
  description: "The other datasets and their similarity indexes (sources for adding similar samples)",
  async run(ctx) {
    const datasets = await ctx.db
      .collection<DatasetDoc>("datasets")
      .find({ name: { $ne: ctx.dataset.name } }, { projection: { name: 1, media_type: 1, brain_methods: 1 } })
      .sort({ name: 1 })
      .toArray();
    const runIds = datasets.flatMap((d) => Object.values(d.brain_methods ?? {}));
    const runs = runIds.length ? await ctx.db.collection<RunDoc>("runs").find({ _id: { $in: runIds }, "config.type": "similarity" }).toArray() : [];
    const byId = new Map(runs.map((r) => [r._id.toHexString(), r]));
    return {
      sources: datasets.map((d) => ({
        dataset: d.name,
        media_type: d.media_type ?? null,
        indexes: Object.values(d.brain_methods ?? {})
          .map((id) => byId.get(id.toHexString()))
          .filter((r): r is RunDoc => r !== undefined)
          .map((r) => ({
            brain_key: r.key,
            model: typeof r.config.model === "string" ? r.config.model : null,
            supports_prompts: r.config.supports_prompts === true,
            patches_field: typeof r.config.patches_field === "string" ? r.config.patches_field : null,
          }))
          .sort((a, b) => a.brain_key.localeCompare(b.brain_key)),
      })),
    };
  },
};

