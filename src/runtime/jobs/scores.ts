import { ObjectId } from "mongodb";
import { BrainError } from "../../errors";
import { findField, findFrameField, FRAMES_PREFIX } from "../../fiftyone/datasets";
import { readEmbeddings } from "../../fiftyone/embeddings";
import { deleteFrameField, deleteSampleField, scoreFieldError, writeFrameScoreField, writeScoreField } from "../../fiftyone/fields";
import { readClassification, requireLabelField, StoredClassification } from "../../fiftyone/labels";
import { assertReplaceableRun, registerBrainRun, RunConfig } from "../../fiftyone/runs";
import { streamSamples, streamVideoFrames } from "../../fiftyone/samples";
import { hardness } from "../../methods/hardness";
import { classificationMistakenness } from "../../methods/mistakenness";
import {
  computeRepresentativeness,
  REPRESENTATIVENESS_CLUSTERS,
  REPRESENTATIVENESS_METHODS,
  RepresentativenessMethod,
} from "../../methods/representativeness";
import { computeUniquenessKnn } from "../../methods/uniqueness";
import { Job, JobContext, requireSamples, scaledProgress } from "../job";
import { OBJECT_LABEL_TYPES, ObjectLabelType, runDetectionMistakenness } from "./detectionMistakenness";
import { parseEmbeddingSourceParams, resolveEmbeddings } from "../embeddingSource";
import { optionalBoolean, optionalString, RawParams, requiredString } from "../params";

/**
 * Sample scores written as float fields, each registered as a brain run exactly as
 * fiftyone-brain registers it (same config class, type, method and attributes, brain key
 * = the score field), so Python's get_brain_info / delete_brain_run treat them as the
 * reference's own runs and its cleanup removes the field.
 *
 * As in the reference, computing into an existing score field of the same kind of run is
 * allowed: values of the scored samples are overwritten, the run record is replaced.
 * Unlike the reference, everything is computed and checked before anything is written,
 * so an error leaves the dataset as it was (the reference registers the run first and
 * writes sample by sample).
 */

export const UNIQUENESS_CONFIG_CLS = "fiftyone.brain.internal.core.uniqueness.UniquenessConfig";
export const REPRESENTATIVENESS_CONFIG_CLS = "fiftyone.brain.internal.core.representativeness.RepresentativenessConfig";
export const HARDNESS_CONFIG_CLS = "fiftyone.brain.internal.core.hardness.HardnessConfig";
export const CLASSIFICATION_MISTAKENNESS_CONFIG_CLS =
  "fiftyone.brain.internal.core.mistakenness.ClassificationMistakennessConfig";

const CLASSIFICATION_TYPES = ["Classification", "Classifications"] as const;
const OBJECT_TYPES = Object.keys(OBJECT_LABEL_TYPES);

export interface ScoreResult {
  brainKey: string;
  field: string;
  /** Samples of the view that got a value (null counts for hardness / mistakenness). */
  numScored: number;
  /** Samples of the view skipped (no embedding) or given no value (no label). */
  numMissing: number;
  numSamples: number;
  min: number | null;
  max: number | null;
  /** True when an existing run with this key was replaced. */
  replaced: boolean;
}

async function checkTarget(ctx: JobContext, field: string, cls: string, mustMatch: Record<string, unknown>): Promise<boolean> {
  const error = scoreFieldError(ctx.dataset, field);
  if (error) throw new BrainError(findField(ctx.dataset, field) ? "FIELD_EXISTS" : "INVALID_PARAMS", error);
  return assertReplaceableRun(ctx.db, ctx.dataset, field, cls, mustMatch);
}

/** Writes the field, then registers the run; a field this created is removed if registration fails. */
async function writeAndRegister(
  ctx: JobContext,
  field: string,
  values: [string, number | null][],
  config: RunConfig,
  replace: boolean,
): Promise<void> {
  ctx.signal.throwIfAborted();
  const { created } = await writeScoreField(ctx.db, ctx.dataset, field, values);
  try {
    await registerBrainRun(
      ctx.db,
      ctx.dataset,
      { key: field, version: ctx.fiftyoneVersion, viewStages: ctx.target.viewStages ?? null, config, results: null },
      { replace },
    );
  } catch (err) {
    if (created) await deleteSampleField(ctx.db, ctx.dataset, field);
    throw err;
  }
}

function summary(values: [string, number | null][], extra: Omit<ScoreResult, "numScored" | "min" | "max">): ScoreResult {
  let min: number | null = null;
  let max: number | null = null;
  let numScored = 0;
  for (const [, v] of values) {
    if (v === null) continue;
    numScored++;
    if (Number.isNaN(v)) continue;
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return { ...extra, numScored, min, max };
}


/**
 * compute_uniqueness from precomputed embeddings in a sample field (spec §1), same numbers
 * as fob.compute_uniqueness(samples, embeddings=field); see src/methods/uniqueness.ts for
 * the reference quirks reproduced. Samples without an embedding are skipped and keep
 * their value, as in the reference; a view with no embedding at all is an error here
 * (the reference silently creates an empty field).
 */
export const uniquenessJob: Job<ScoreResult> = {
  name: "compute_uniqueness",
  description: "Score how unique each sample is from the embeddings in a field",
  async run(ctx, params) {
    const field = optionalString(params, "uniqueness_field") ?? "uniqueness";
    unsupported(params, ["similarity_index"]);
    const embeddingsField = optionalString(params, "embeddings") ?? null;
    if (field === embeddingsField) throw new BrainError("INVALID_PARAMS", "The uniqueness field must differ from the embeddings field");
    const replace = await checkTarget(ctx, field, UNIQUENESS_CONFIG_CLS, { uniqueness_field: field });
    const total = await requireSamples(ctx);
    // A field, or a model on the images (the default model when neither is given, as the reference).
    const emb = await resolveEmbeddings(scaledProgress(ctx, 0.3), parseEmbeddingSourceParams(params), { defaultModel: embeddingsField === null });
    if (emb.ids.length === 0) {
      throw new BrainError("INVALID_DATA", `Embeddings field '${embeddingsField}' has no value on any of the ${total} samples of the view`);
    }
    const scores = await computeUniquenessKnn(emb.vectors, emb.ids.length, emb.dim, {
      signal: ctx.signal,
      progress: (f) => ctx.progress(0.3 + 0.6 * f, "Computing uniqueness"),
    });
    const values = emb.ids.map((id, i): [string, number | null] => [id, scores[i]]);
    await writeAndRegister(
      ctx,
      field,
      values,
      {
        cls: UNIQUENESS_CONFIG_CLS,
        type: "uniqueness",
        method: "neighbors",
        uniqueness_field: field,
        roi_field: optionalString(params, "roi_field") ?? null,
        embeddings_field: embeddingsField,
        similarity_index: null,
        model: emb.model,
        model_kwargs: null,
      },
      replace,
    );
    ctx.progress(1, "Done");
    return summary(values, { brainKey: field, field, numMissing: emb.numMissing, numSamples: total, replaced: replace });
  },
};

/**
 * compute_representativeness from precomputed embeddings in a sample field (spec §2):
 * the reference's k-means ranking (see src/methods/representativeness.ts, including the
 * decision on its inverted scores). Fewer than 20 embeddings cannot form the reference's
 * 20 clusters: refused with a message before anything is written.
 */
export const representativenessJob: Job<ScoreResult> = {
  name: "compute_representativeness",
  description: "Score how representative each sample is from the embeddings in a field (k-means cluster ranking)",
  async run(ctx, params) {
    const embeddingsField = requiredString(params, "embeddings");
    const field = optionalString(params, "representativeness_field") ?? "representativeness";
    const method = (optionalString(params, "method") ?? "cluster-center") as RepresentativenessMethod;
    if (!REPRESENTATIVENESS_METHODS.includes(method)) {
      throw new BrainError(
        "INVALID_PARAMS",
        `Method '${method}' not supported. Please use one of ['${REPRESENTATIVENESS_METHODS.join("', '")}']`,
      );
    }
    unsupported(params, ["similarity_index"]);
    if (field === embeddingsField) {
      throw new BrainError("INVALID_PARAMS", "The representativeness field must differ from the embeddings field");
    }
    const replace = await checkTarget(ctx, field, REPRESENTATIVENESS_CONFIG_CLS, { representativeness_field: field });
    const total = await requireSamples(ctx);
    // float64 kept for stored fields: k-means works in the raw space, where float32 rounding of large coordinates shows.
    // With a model (or roi_field), its float32 output is used, stored in the field first.
    const emb = params.model || params.roi_field
      ? await resolveEmbeddings(scaledProgress(ctx, 0.3), parseEmbeddingSourceParams(params))
      : await readEmbeddings(ctx.db, ctx.dataset, ctx.target, embeddingsField, {
          signal: ctx.signal,
          float64: true,
          total,
          progress: (f, label) => ctx.progress(0.3 * f, label),
        });
    if (emb.ids.length === 0) {
      throw new BrainError("INVALID_DATA", `Embeddings field '${embeddingsField}' has no value on any of the ${total} samples of the view`);
    }
    if (emb.ids.length < REPRESENTATIVENESS_CLUSTERS) {
      throw new BrainError(
        "INVALID_DATA",
        `Representativeness clusters the embeddings into ${REPRESENTATIVENESS_CLUSTERS} groups: it needs at least ${REPRESENTATIVENESS_CLUSTERS} samples with a value in '${embeddingsField}', the view has ${emb.ids.length}`,
      );
    }
    const scores = await computeRepresentativeness(emb.vectors, emb.ids.length, emb.dim, {
      method,
      signal: ctx.signal,
      progress: (f) => ctx.progress(0.3 + 0.6 * f, "Clustering"),
    });
    const values = emb.ids.map((id, i): [string, number | null] => [id, scores[i]]);
    await writeAndRegister(
      ctx,
      field,
      values,
      {
        cls: REPRESENTATIVENESS_CONFIG_CLS,
        type: "representativeness",
        method,
        representativeness_field: field,
        roi_field: optionalString(params, "roi_field") ?? null,
        embeddings_field: embeddingsField,
        similarity_index: null,
        model: null,
        model_kwargs: null,
      },
      replace,
    );
    ctx.progress(1, "Done");
    return summary(values, { brainKey: field, field, numMissing: emb.numMissing, numSamples: total, replaced: replace });
  },
};

type LabelDocs = { _id: { toHexString(): string }; [k: string]: unknown }[];

/** Streams the view's samples with the given label fields, parsed; at most one batch in memory. */
async function* streamClassifications(
  ctx: JobContext,
  fields: string[],
  total: number,
): AsyncGenerator<{ id: string; labels: (StoredClassification | null)[] }> {
  const projection = Object.fromEntries([["_id", 1], ...fields.map((f) => [f, 1])]);
  let seen = 0;
  for await (const batch of streamSamples<LabelDocs[number]>(ctx.db, ctx.dataset, ctx.target, projection)) {
    ctx.signal.throwIfAborted();
    for (const doc of batch) {
      const id = doc._id.toHexString();
      yield { id, labels: fields.map((f) => readClassification(doc[f], `Sample '${id}' field '${f}'`)) };
    }
    seen += batch.length;
    ctx.progress((0.9 * seen) / total, `Scored ${seen}/${total} samples`);
  }
  if (seen !== total) throw new BrainError("INTERNAL", `The view changed while it was read (${seen} of ${total} samples)`);
}

/**
 * compute_hardness (spec §3): entropy of softmax(logits) of a Classification(s) field.
 * Samples without a label get no value (null, as the reference writes None); a label
 * without logits stops the run with the reference's message, before anything is written.
 * A frame field of a video dataset (`frames.<name>`) scores every frame into the frame
 * field `frames.<hardness_field>` and each sample with its frames' largest score, as the
 * reference does.
 */
export const hardnessJob: Job<ScoreResult> = {
  name: "compute_hardness",
  description: "Score how hard each sample is: the entropy of its predicted logits",
  async run(ctx, params) {
    const labelField = requiredString(params, "label_field");
    // as the reference on videos: a "frames." prefix on the output field is dropped
    const field = (optionalString(params, "hardness_field") ?? "hardness").replace(/^frames\./, "");
    requireLabelField(ctx.dataset, labelField, CLASSIFICATION_TYPES, "label_field", true);
    if (field === labelField) throw new BrainError("INVALID_PARAMS", "The hardness field must differ from the label field");
    const replace = await checkTarget(ctx, field, HARDNESS_CONFIG_CLS, { hardness_field: field });
    const total = await requireSamples(ctx);
    const config: RunConfig = { cls: HARDNESS_CONFIG_CLS, type: "mistakenness", method: "entropy", label_field: labelField, hardness_field: field };
    if (labelField.startsWith(FRAMES_PREFIX)) {
      return frameScores(ctx, [labelField], field, total, config, replace, ([label], where) => {
        if (label === null) return null;
        if (label.logits === null) throw new BrainError("INVALID_DATA", `${where(labelField)} has no logits`);
        return hardness(label.logits);
      });
    }
    const values: [string, number | null][] = [];
    let numMissing = 0;
    for await (const { id, labels } of streamClassifications(ctx, [labelField], total)) {
      const label = labels[0];
      if (label === null) {
        numMissing++;
        values.push([id, null]);
        continue;
      }
      if (label.logits === null) throw new BrainError("INVALID_DATA", `Sample '${id}' field '${labelField}' has no logits`);
      values.push([id, hardness(label.logits)]);
    }
    if (numMissing === total) {
      throw new BrainError("INVALID_DATA", `Field '${labelField}' has no label on any of the ${total} samples of the view`);
    }
    await writeAndRegister(ctx, field, values, config, replace);
    ctx.progress(1, "Done");
    return summary(values, { brainKey: field, field, numMissing, numSamples: total, replaced: replace });
  },
};

/**
 * A score of frame-level label fields (`frames.<name>`, read with readClassification):
 * each frame's score into the frame field `field`, each sample's largest frame score
 * (null without one; a NaN wins, as np.max) into the sample field `field`, as the
 * reference scores videos; the frames as streamVideoFrames reads them. Everything
 * is computed and checked before anything is written; the frame field goes again if the
 * rest fails.
 */
async function frameScores(
  ctx: JobContext,
  labelFields: string[],
  field: string,
  total: number,
  config: RunConfig,
  replace: boolean,
  score: (labels: (StoredClassification | null)[], where: (f: string) => string) => number | null,
): Promise<ScoreResult> {
  const locals = labelFields.map((f) => f.slice(FRAMES_PREFIX.length));
  if (findFrameField(ctx.dataset, field) && !replace) {
    throw new BrainError("FIELD_EXISTS", `Frame field '${field}' already exists on dataset '${ctx.dataset.name}'; choose another field name`);
  }
  const frameValues: [ObjectId, number | null][] = [];
  const values: [string, number | null][] = [];
  let numMissing = 0;
  let seen = 0;
  for await (const batch of streamVideoFrames(ctx.db, ctx.dataset, ctx.target, locals)) {
    ctx.signal.throwIfAborted();
    for (const { sampleId, frames } of batch) {
      const id = sampleId.toHexString();
      let max: number | null = null;
      for (const f of frames) {
        const where = (name: string) => `Frame ${f.frame_number} of sample '${id}' field '${name}'`;
        const v = score(
          locals.map((local, k) => readClassification(f[local], where(labelFields[k]))),
          where,
        );
        frameValues.push([f._id, v]);
        if (v !== null && (max === null || (!Number.isNaN(max) && !(v <= max)))) max = v;
      }
      if (max === null) numMissing++;
      values.push([id, max]);
    }
    seen += batch.length;
    ctx.progress((0.8 * seen) / total, `Scored ${seen}/${total} videos`);
  }
  if (numMissing === total) {
    const fields = labelFields.length > 1 ? `Fields '${labelFields.join("' and '")}' have` : `Field '${labelFields[0]}' has`;
    throw new BrainError("INVALID_DATA", `${fields} no label on any frame of the ${total} samples of the view`);
  }
  ctx.signal.throwIfAborted();
  const { created } = await writeFrameScoreField(ctx.db, ctx.dataset, field, frameValues);
  try {
    await writeAndRegister(ctx, field, values, config, replace);
  } catch (err) {
    if (created) await deleteFrameField(ctx.db, ctx.dataset, field);
    throw err;
  }
  ctx.progress(1, "Done");
  return summary(values, { brainKey: field, field, numMissing, numSamples: total, replaced: replace });
}

/**
 * compute_mistakenness for classifications (spec §4.1), with confidences or with logits.
 * Reproduces the reference's cases: no prediction → 1, no ground truth → treated as
 * agreement, neither → no value (null).
 */
export const mistakennessJob: Job<ScoreResult> = {
  name: "compute_mistakenness",
  description: "Score how likely each ground-truth classification is a mistake, from a model's predictions",
  async run(ctx, params) {
    const predField = requiredString(params, "pred_field");
    const labelField = requiredString(params, "label_field");
    // as the reference on videos: a "frames." prefix on the output field is dropped
    const field = (optionalString(params, "mistakenness_field") ?? "mistakenness").replace(/^frames\./, "");
    const useLogits = optionalBoolean(params, "use_logits", false);
    const frames = predField.startsWith(FRAMES_PREFIX);
    if (frames !== labelField.startsWith(FRAMES_PREFIX)) {
      throw new BrainError("INVALID_PARAMS", `'${predField}' and '${labelField}' must both be frame fields or both sample fields`);
    }
    const predType = requireLabelField(ctx.dataset, predField, [...CLASSIFICATION_TYPES, ...OBJECT_TYPES], "pred_field", frames);
    if (OBJECT_TYPES.includes(predType)) {
      requireLabelField(ctx.dataset, labelField, [predType], "label_field", frames);
      const total = await requireSamples(ctx);
      return runDetectionMistakenness(
        ctx,
        {
          labelType: predType as ObjectLabelType,
          predField,
          labelField,
          field,
          missingField: optionalString(params, "missing_field") ?? "possible_missing",
          spuriousField: optionalString(params, "spurious_field") ?? "possible_spurious",
          useLogits,
          copyMissing: optionalBoolean(params, "copy_missing", false),
        },
        total,
      );
    }
    const gtType = requireLabelField(ctx.dataset, labelField, CLASSIFICATION_TYPES, "label_field", frames);
    if (gtType !== predType) {
      throw new BrainError(
        "INVALID_FIELD_TYPE",
        `Fields '${predField}' (${predType}) and '${labelField}' (${gtType}) must have the same type`,
      );
    }
    if (field === predField || field === labelField) {
      throw new BrainError("INVALID_PARAMS", "The mistakenness field must differ from the prediction and label fields");
    }
    const replace = await checkTarget(ctx, field, CLASSIFICATION_MISTAKENNESS_CONFIG_CLS, {
      pred_field: predField,
      label_field: labelField,
      mistakenness_field: field,
    });
    const total = await requireSamples(ctx);
    const config: RunConfig = {
      cls: CLASSIFICATION_MISTAKENNESS_CONFIG_CLS,
      type: "mistakenness",
      method: "classification",
      pred_field: predField,
      label_field: labelField,
      mistakenness_field: field,
      use_logits: useLogits,
    };
    const score = ([pred, gt]: (StoredClassification | null)[], where: string) => {
      if (pred !== null) {
        if (useLogits && pred.logits === null) throw new BrainError("INVALID_DATA", `${where} has no logits`);
        if (!useLogits && pred.confidence === null) {
          const hint = predType === "Classifications" ? " (multi-label predictions need use_logits=true)" : "";
          throw new BrainError("INVALID_DATA", `${where} has no confidence${hint}`);
        }
      }
      return classificationMistakenness(pred, gt, useLogits);
    };
    if (frames) return frameScores(ctx, [predField, labelField], field, total, config, replace, (labels, where) => score(labels, where(predField)));
    const values: [string, number | null][] = [];
    let numMissing = 0;
    for await (const { id, labels } of streamClassifications(ctx, [predField, labelField], total)) {
      const value = score(labels, `Sample '${id}' field '${predField}'`);
      if (value === null) numMissing++;
      values.push([id, value]);
    }
    if (numMissing === total) {
      throw new BrainError("INVALID_DATA", `Fields '${predField}' and '${labelField}' have no label on any of the ${total} samples of the view`);
    }
    await writeAndRegister(ctx, field, values, config, replace);
    ctx.progress(1, "Done");
    return summary(values, { brainKey: field, field, numMissing, numSamples: total, replaced: replace });
  },
};

function unsupported(params: RawParams, names: string[]): void {
  for (const name of names) {
    if (params[name] !== undefined && params[name] !== null) {
      throw new BrainError("INVALID_PARAMS", `'${name}' is not supported yet: give an embeddings field or a model`);
    }
  }
}
