import { Binary, ObjectId } from "mongodb";
import { BrainError } from "../errors";
import { DecodePool } from "../embeddings/decodePool";
import type { EmbeddingModel } from "../embeddings/embeddingModel";
import { embedStream } from "../embeddings/embedStream";
import type { ImageJob } from "../embeddings/imagePipeline";
import { defaultModelRef, type ModelRef, sharedEmbeddingModel } from "../embeddings/loadModel";
import { relativeBox } from "../embeddings/patches";
import { findField } from "../fiftyone/datasets";
import { readEmbeddings } from "../fiftyone/embeddings";
import { fieldDoc, validateNewFieldName, writeSampleField } from "../fiftyone/fields";
import {
  attributeName,
  labelId,
  labelsOf,
  newLabelAttributeError,
  type LabelEmbeddings,
  type PatchField,
  patchField,
  readLabelEmbeddings,
  writeLabelEmbeddings,
} from "../fiftyone/labelEmbeddings";
import { encodeStoredFloat32 } from "../fiftyone/numpy";
import { streamSamples } from "../fiftyone/samples";
import { type JobContext, requireSamples } from "./job";
import { optionalBoolean, optionalInteger, optionalString, type RawParams } from "./params";

/**
 * Where a method's embeddings come from (spec §0.1), for every job: a stored field
 * (sample vectors, or a vector attribute of the labels of `patches_field`), or a model
 * (zoo name, path or URL) run on the view's images, whole, per object patch, or averaged
 * over the `roi_field` objects. Model runs stream the view in batches.
 */
export interface EmbeddingSourceParams {
  /** Field name: sample field, or label attribute (`emb` / `gt.detections.emb`) with patches_field. */
  embeddings?: string;
  model?: ModelRef;
  patchesField?: string;
  roiField?: string;
  alpha?: number;
  forceSquare: boolean;
  skipFailures: boolean;
  batchSize: number;
  /** Decode worker threads; 0 = decode on the main thread. */
  decodeThreads?: number;
}

export interface EmbeddingFailure {
  id: string;
  labelId?: string;
  filepath: string;
  error: string;
}

export interface EmbeddingSource {
  /** Sample id of each row. */
  ids: string[];
  /** With patches_field: the label id of each row. */
  labelIds?: string[];
  vectors: Float32Array;
  dim: number;
  /** Samples (labels, for patches) without a stored value: skipped. */
  numMissing: number;
  numFailures: number;
  /** The first failures (at most MAX_REPORTED_FAILURES), per sample / label. */
  failures: EmbeddingFailure[];
  /** The model that computed the vectors, or null when they were read from a field. */
  model: string | null;
  /** The field the vectors were read from, or written to; null if neither. */
  field: string | null;
}

export const MAX_REPORTED_FAILURES = 100;

/** Reads the shared embedding parameters (names as in fiftyone-brain). */
export function parseEmbeddingSourceParams(params: RawParams): EmbeddingSourceParams {
  const model = optionalString(params, "model");
  const manifest = params.model_manifest;
  if (manifest !== undefined && manifest !== null && (typeof manifest !== "object" || Array.isArray(manifest))) {
    throw new BrainError("INVALID_PARAMS", "'model_manifest' must be an object (a model manifest)");
  }
  if (manifest && !model) throw new BrainError("INVALID_PARAMS", "'model_manifest' needs 'model' (the ONNX file's path or URL)");
  const alpha = params.alpha;
  if (alpha !== undefined && alpha !== null && (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha < -1)) {
    throw new BrainError("INVALID_PARAMS", "'alpha' must be a number ≥ -1 (0.1 expands boxes by 10%)");
  }
  const patchesField = optionalString(params, "patches_field");
  const roiField = optionalString(params, "roi_field");
  if (patchesField && roiField) throw new BrainError("INVALID_PARAMS", "Give 'patches_field' or 'roi_field', not both");
  return {
    embeddings: optionalString(params, "embeddings") ?? optionalString(params, "embeddings_field"),
    model: model ? (manifest ? { model, manifest: manifest as Record<string, unknown> } : model) : undefined,
    patchesField,
    roiField,
    alpha: typeof alpha === "number" ? alpha : undefined,
    forceSquare: optionalBoolean(params, "force_square", false),
    skipFailures: optionalBoolean(params, "skip_failures", true),
    batchSize: optionalInteger(params, "batch_size", 16, 1),
    decodeThreads: params.decode_threads === undefined ? undefined : optionalInteger(params, "decode_threads", 0, 0),
  };
}

export function modelRefName(ref: ModelRef): string {
  return typeof ref === "string" ? ref : ref.model;
}

/** One sample's model output: rows (one per patch, or one per image) and failures. */
export interface SampleEmbeddings {
  id: string;
  filepath: string;
  rows: Array<{ labelId?: string; vector: Float32Array }>;
  failures: Array<{ labelId?: string; error: string }>;
}

type SampleDoc = { _id: ObjectId; filepath: string; [k: string]: unknown };

/**
 * Runs `model` over the view's images: whole images; with `patches`, one row per label
 * (samples without labels give none); with `roi`, one row per sample, the mean of its
 * ROI patches, or the whole image when it has no ROI labels. Failures are reported per
 * sample (and label), or thrown at once when `skipFailures` is false.
 */
export async function* modelEmbeddings(
  ctx: JobContext,
  model: EmbeddingModel,
  options: { patches?: PatchField; roi?: PatchField; alpha?: number; forceSquare?: boolean; skipFailures: boolean; batchSize: number; decodeThreads?: number },
  onProgress?: (done: number) => void,
): AsyncGenerator<SampleEmbeddings> {
  const boxesField = options.patches ?? options.roi;
  const projection: Record<string, 1> = { _id: 1, filepath: 1, ...(boxesField ? { [boxesField.name]: 1 } : {}) };
  const pool = new DecodePool(options.decodeThreads ?? DecodePool.defaultThreads());
  const toJob = (doc: SampleDoc): ImageJob => {
    if (!boxesField) return { image: doc.filepath };
    const labels = labelsOf(doc[boxesField.name], boxesField);
    // ROI samples without labels are embedded whole (spec: handle_missing="image").
    if (options.roi && labels.length === 0) return { image: doc.filepath };
    return { image: doc.filepath, patches: labels.map(relativeBox), alpha: options.alpha, forceSquare: options.forceSquare };
  };
  try {
    const stream = embedStream(model, pool, streamSamples<SampleDoc>(ctx.db, ctx.dataset, ctx.target, projection, options.batchSize), toJob, {
      batchSize: options.batchSize,
      signal: ctx.signal,
      onBatch: onProgress,
    });
    for await (const { item: doc, results } of stream) {
      const id = doc._id.toHexString();
      const out: SampleEmbeddings = { id, filepath: doc.filepath, rows: [], failures: [] };
      const labels = options.patches ? labelsOf(doc[options.patches.name], options.patches) : [];
      results.forEach((r, slot) => {
        const lid = options.patches ? labelId(labels[slot]) : undefined;
        if ("error" in r) out.failures.push({ labelId: lid, error: r.error });
        else out.rows.push({ labelId: lid, vector: r.vector });
      });
      if (options.roi && results.length > 1 && out.rows.length > 0) {
        // ROI: the mean of the patches that could be embedded.
        const mean = new Float32Array(model.dim);
        for (const row of out.rows) for (let k = 0; k < mean.length; k++) mean[k] += row.vector[k];
        for (let k = 0; k < mean.length; k++) mean[k] /= out.rows.length;
        out.rows = [{ vector: mean }];
        out.failures = [];
      } else if (options.roi && out.rows.length > 0) out.failures = [];
      if (!options.skipFailures && out.failures.length > 0) {
        const f = out.failures[0];
        const code = f.error.includes("NaN or infinite") ? "MODEL_INVALID" : "MEDIA_UNREADABLE";
        throw new BrainError(code, `Cannot embed sample ${id}${f.labelId ? ` label ${f.labelId}` : ""} (${doc.filepath}): ${f.error}`);
      }
      yield out;
    }
  } finally {
    await pool.close();
  }
}

/**
 * Resolves a job's embeddings (spec §0.1 precedence): the model runs when one is given
 * and the named field does not exist yet (or no field is named), or when nothing is
 * given and `defaultModel` is set; the computed vectors are then also stored in the
 * named field. Otherwise the field is read. With an explicit model and an existing field,
 * the field is read and its dimension must match the model's.
 */
export async function resolveEmbeddings(
  ctx: JobContext,
  params: EmbeddingSourceParams,
  options: { defaultModel?: boolean } = {},
): Promise<EmbeddingSource> {
  const patches = params.patchesField ? patchField(ctx.dataset, params.patchesField, "patches_field") : undefined;
  const roi = params.roiField ? patchField(ctx.dataset, params.roiField, "roi_field") : undefined;
  const name = params.embeddings;
  const exists = name !== undefined && (patches ? await labelAttributeExists(ctx, patches, name) : findField(ctx.dataset, name) !== undefined);
  const modelRef = params.model ?? (options.defaultModel && !exists ? defaultModelRef() : undefined);

  if (exists || !modelRef) {
    if (!name) throw new BrainError("INVALID_PARAMS", "Give an embeddings field or a model");
    if (roi) throw new BrainError("INVALID_PARAMS", "'roi_field' averages patch embeddings computed by a model: give a model (the embeddings field is then written)");
    const read = patches
      ? await readLabelEmbeddings(ctx.db, ctx.dataset, ctx.target, patches, name, ctx.signal)
      : await readEmbeddings(ctx.db, ctx.dataset, ctx.target, name, { signal: ctx.signal, progress: (f, l) => ctx.progress(f, l) });
    if (params.model) {
      const model = await sharedEmbeddingModel(params.model);
      if (read.dim > 0 && read.dim !== model.dim) {
        throw new BrainError("INVALID_DATA", `Field '${name}' holds ${read.dim}-d embeddings, but the model '${model.name}' computes ${model.dim}-d ones: choose another field to compute into`);
      }
    }
    const labelIds = patches ? (read as LabelEmbeddings).labelIds : undefined;
    return { ids: read.ids, labelIds, vectors: read.vectors, dim: read.dim, numMissing: read.numMissing, numFailures: 0, failures: [], model: null, field: name };
  }

  // Model path: check the target field first, so a bad name fails before any work.
  if (name) {
    const error = patches ? await newLabelAttributeError(ctx.db, ctx.dataset, patches, attributeName(patches, name)) : validateNewFieldName(ctx.dataset, name);
    if (error) throw new BrainError("FIELD_EXISTS", error);
  }
  const total = await requireSamples(ctx);
  const model = await sharedEmbeddingModel(modelRef);
  const ids: string[] = [];
  const labelIds: string[] = [];
  const chunks: Float32Array[] = [];
  const failures: EmbeddingFailure[] = [];
  let numFailures = 0;
  ctx.progress(0, `Embedding ${total} images with ${model.name}`);
  for await (const s of modelEmbeddings(ctx, model, { ...params, patches, roi }, (done) => ctx.progress(done / total, `Embedded ${done}/${total} images`))) {
    for (const row of s.rows) {
      ids.push(s.id);
      if (row.labelId) labelIds.push(row.labelId);
      chunks.push(row.vector);
    }
    for (const f of s.failures) {
      numFailures++;
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ id: s.id, labelId: f.labelId, filepath: s.filepath, error: f.error });
    }
  }
  const vectors = new Float32Array(ids.length * model.dim);
  chunks.forEach((v, i) => vectors.set(v, i * model.dim));
  chunks.length = 0;
  if (name) {
    const rows = function* (): Generator<[string, string, Binary]> {
      for (let i = 0; i < ids.length; i++) yield [ids[i], labelIds[i], new Binary(encodeStoredFloat32(vectors.subarray(i * model.dim, (i + 1) * model.dim)))];
    };
    if (patches) await writeLabelEmbeddings(ctx.db, ctx.dataset, patches, attributeName(patches, name), toAsync(rows()));
    else await writeSampleField(ctx.db, ctx.dataset, fieldDoc(name, "fiftyone.core.fields.VectorField"), (function* () {
      for (const [id, , value] of rows()) yield [id, value] as [string, unknown];
    })());
  }
  return {
    ids,
    labelIds: patches ? labelIds : undefined,
    vectors,
    dim: model.dim,
    numMissing: 0,
    numFailures,
    failures,
    model: model.name,
    field: name ?? null,
  };
}

async function* toAsync<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}

async function labelAttributeExists(ctx: JobContext, field: PatchField, name: string): Promise<boolean> {
  const attr = attributeName(field, name);
  return (await newLabelAttributeError(ctx.db, ctx.dataset, field, attr)) !== null;
}
