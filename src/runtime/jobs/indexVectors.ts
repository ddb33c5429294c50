import { ObjectId } from "mongodb";
import { BrainError } from "../../errors";
import { findField } from "../../fiftyone/datasets";
import { readEmbeddings } from "../../fiftyone/embeddings";
import { streamSamples } from "../../fiftyone/samples";
import { MAX_CENTRED_ROWS } from "../../index/exactIndex";
import { IndexItems, SimilarityIndex } from "../../index/similarityIndex";
import { columnMean } from "../../methods/vectors";
import type { Metric } from "../../methods/neighborGraph";
import { JobContext } from "../job";
import { withRunIndex } from "./similarity";

/**
 * The vectors of an existing similarity index for the samples of a job's view, so a
 * method (near duplicates) works on the index instead of re-reading an embeddings field.
 * Rows come in the view's order; view samples the index lacks are dropped and reported
 * (spec §0.1: the reference drops them with a warning). Like the reference's views of an
 * index (spec §6.2), rows are centred by the whole index's mean when the index holds at
 * most 15000 items, else by the view's own mean.
 */
export interface IndexVectors {
  ids: string[];
  vectors: Float32Array;
  dim: number;
  metric: Metric;
  backend: string;
  /** Centre for the rows (the whole index's mean), or undefined for the rows' own mean. */
  center?: Float64Array;
  /** View samples not in the index: how many, and the first few ids. */
  numNotIndexed: number;
  notIndexedIds: string[];
  /** The index keeps only unit vectors (hnswlib cosine): the vectors were read from its embeddings field. */
  fromField: string | null;
}

const SHOWN_IDS = 10;
const ID_CHUNK = 10000;

async function viewIdsInOrder(ctx: JobContext): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of streamSamples<{ _id: ObjectId }>(ctx.db, ctx.dataset, ctx.target, { _id: 1 }, 5000)) {
    ctx.signal.throwIfAborted();
    for (const doc of batch) ids.push(doc._id.toHexString());
  }
  return ids;
}

export async function readIndexVectors(ctx: JobContext, brainKey: string): Promise<IndexVectors> {
  const viewIds = await viewIdsInOrder(ctx);
  if (viewIds.length === 0) throw new BrainError("EMPTY_VIEW", "The target view has no samples");
  return withRunIndex(ctx, brainKey, async (loaded, run) => {
    const { index } = loaded;
    if (loaded.sampleOf) {
      throw new BrainError("INVALID_PARAMS", `'${brainKey}' is a patch index (of '${String(run.config.patches_field)}'): near duplicates need an index of whole samples`);
    }
    if (index.metric !== "cosine" && index.metric !== "euclidean") {
      throw new BrainError("INVALID_PARAMS", `'${brainKey}' uses the ${index.metric} metric: near duplicates need a cosine or euclidean index`);
    }
    const metric: Metric = index.metric;
    // hnswlib's cosine space keeps unit vectors; centring those is not centring the
    // embeddings, so the originals come from the index's field (checked against the index).
    const field = typeof run.config.embeddings_field === "string" ? run.config.embeddings_field : null;
    const fromField = index.capabilities.storesUnitVectors ? field : null;
    if (index.capabilities.storesUnitVectors && (!field || !findField(ctx.dataset, field))) {
      throw new BrainError(
        "INVALID_PARAMS",
        `The ${loaded.spec.name} index '${brainKey}' keeps only normalised vectors (cosine) and its embeddings field ${field ? `'${field}' no longer exists` : "is unknown"}, so it cannot return its embeddings; use an exact index or an embeddings field`,
      );
    }
    const read = async (ids?: string[]): Promise<IndexItems> => {
      const items = await fetchEmbeddings(index, brainKey, loaded.spec.name, ids);
      return fromField ? originalsFromField(ctx, items, index.dim, fromField, brainKey) : items;
    };
    const size = await index.size();
    const dim = index.dim;
    let items: IndexItems;
    let center: Float64Array | undefined;
    if (size <= MAX_CENTRED_ROWS) {
      const all = await read();
      if (all.ids.length) center = columnMean(all.vectors, all.ids.length, dim);
      items = pick(all, viewIds, dim);
    } else {
      items = await read(viewIds);
    }
    const indexed = new Set(items.ids);
    const notIndexed = viewIds.filter((id) => !indexed.has(id));
    if (items.ids.length === 0) {
      throw new BrainError("EMPTY_VIEW", `None of the ${viewIds.length} samples of the view is in the similarity index '${brainKey}' (it holds ${size} items)`);
    }
    return {
      ids: items.ids,
      vectors: items.vectors,
      dim,
      metric,
      backend: loaded.spec.name,
      center,
      numNotIndexed: notIndexed.length,
      notIndexedIds: notIndexed.slice(0, SHOWN_IDS),
      fromField,
    };
  });
}

async function fetchEmbeddings(index: SimilarityIndex, brainKey: string, backend: string, ids?: string[]): Promise<IndexItems> {
  try {
    return await index.getEmbeddings(ids);
  } catch (err) {
    if (err instanceof BrainError) throw err;
    throw new BrainError("BACKEND_UNAVAILABLE", `The ${backend} index '${brainKey}' cannot return its embeddings: ${(err as Error).message}`);
  }
}

/** The rows of `items` for `ids`, in the order of `ids` (ids the index lacks are skipped). */
function pick(items: IndexItems, ids: string[], dim: number): IndexItems {
  const row = new Map(items.ids.map((id, i) => [id, i]));
  const kept = ids.filter((id) => row.has(id));
  const vectors = new Float32Array(kept.length * dim);
  kept.forEach((id, i) => vectors.set(items.vectors.subarray(row.get(id)! * dim, (row.get(id)! + 1) * dim), i * dim));
  return { ids: kept, vectors };
}

/**
 * The original vectors of unit-vector index items, from the field the index was built
 * from; each must still point the way the index's vector does, else the field changed
 * since the index was built and the index would describe other embeddings.
 */
async function originalsFromField(ctx: JobContext, items: IndexItems, dim: number, field: string, brainKey: string): Promise<IndexItems> {
  const vectors = new Float32Array(items.ids.length * dim);
  // In chunks: a view of a large dataset would not fit one query's id list.
  for (let start = 0; start < items.ids.length; start += ID_CHUNK) {
    const ids = items.ids.slice(start, start + ID_CHUNK);
    const emb = await readEmbeddings(ctx.db, ctx.dataset, { sampleIds: ids }, field, { signal: ctx.signal });
    const row = new Map(emb.ids.map((id, i) => [id, i]));
    ids.forEach((id, c) => {
      const i = start + c;
      const r = row.get(id);
      if (r === undefined || emb.dim !== dim) {
        throw new BrainError("INVALID_DATA", `Sample '${id}' of the index '${brainKey}' has no ${dim}-d embedding in '${field}' any more; add it to the index again or rebuild the index`);
      }
      const v = emb.vectors.subarray(r * dim, (r + 1) * dim);
      let norm = 0;
      for (let k = 0; k < dim; k++) norm += v[k] * v[k];
      norm = Math.sqrt(norm);
      for (let k = 0; norm > 0 && k < dim; k++) {
        if (Math.abs(v[k] / norm - items.vectors[i * dim + k]) > 1e-4) {
          throw new BrainError("INVALID_DATA", `The embedding of sample '${id}' in '${field}' changed since the index '${brainKey}' was built; update the index (add_to_index) or rebuild it`);
        }
      }
      vectors.set(v, i * dim);
    });
  }
  return { ids: items.ids, vectors };
}
