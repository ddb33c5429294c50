import { Binary } from "bson";
import { BrainError } from "../../errors";
import { defaultModelRef, sharedEmbeddingModel } from "../../embeddings/loadModel";
import { fieldDoc, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { attributeName, newLabelAttributeError, patchField, writeLabelEmbeddings } from "../../fiftyone/labelEmbeddings";
import { encodeStoredFloat32 } from "../../fiftyone/numpy";
import { type EmbeddingFailure, MAX_REPORTED_FAILURES, modelEmbeddings, modelRefName, parseEmbeddingSourceParams } from "../embeddingSource";
import { Job, requireSamples } from "../job";
import { optionalString } from "../params";

export interface ComputeEmbeddingsResult {
  field: string;
  model: string;
  dim: number;
  numSamples: number;
  /** Vectors written: images, or labels with patches_field. */
  numEmbedded: number;
  numFailures: number;
  failures: EmbeddingFailure[];
  /** With patches_field: the label attribute path written (`gt.detections.emb`). */
  labelPath?: string;
}

/**
 * compute_embeddings: embeds each sample's image (or each object of `patches_field`,
 * cut out as FiftyOne does, see patches.ts) with a model — the default model, a zoo
 * name, or an ONNX file by path or URL — and stores the vectors in FiftyOne's own
 * format: a new VectorField, or a vector attribute on the labels. Images are prepared
 * on worker threads while the model runs, and vectors are written batch by batch, so
 * memory stays flat. On a failure that is not skipped nothing is left written.
 */
export const computeEmbeddingsJob: Job<ComputeEmbeddingsResult> = {
  name: "compute_embeddings",
  description: "Embed images (or object patches) with a model into a new vector field",
  async run(ctx, params) {
    const source = parseEmbeddingSourceParams(params);
    if (source.roiField) throw new BrainError("INVALID_PARAMS", "compute_embeddings stores one vector per image or per patch: use 'patches_field', not 'roi_field'");
    const field = optionalString(params, "embeddings_field") ?? "embeddings";
    const patches = source.patchesField ? patchField(ctx.dataset, source.patchesField, "patches_field") : undefined;
    const attr = patches ? attributeName(patches, field) : field;
    const fieldError = patches ? await newLabelAttributeError(ctx.db, ctx.dataset, patches, attr) : validateNewFieldName(ctx.dataset, field);
    if (fieldError) throw new BrainError("FIELD_EXISTS", fieldError);
    const total = await requireSamples(ctx);
    const ref = source.model ?? defaultModelRef();
    const model = await sharedEmbeddingModel(ref, {
      progress: (p) => ctx.progress(0, `Downloading ${p.url}: ${(p.bytes / 1e6).toFixed(1)}${p.totalBytes ? ` of ${(p.totalBytes / 1e6).toFixed(1)}` : ""} MB`),
    });

    const failures: EmbeddingFailure[] = [];
    let numFailures = 0;
    let numEmbedded = 0;
    const progress = (done: number) => ctx.progress(done / total, `Embedded ${done}/${total} images`);
    async function* rows(): AsyncGenerator<[string, string | undefined, Binary]> {
      for await (const s of modelEmbeddings(ctx, model, { ...source, patches }, progress)) {
        for (const f of s.failures) {
          numFailures++;
          if (failures.length < MAX_REPORTED_FAILURES) failures.push({ id: s.id, labelId: f.labelId, filepath: s.filepath, error: f.error });
        }
        for (const row of s.rows) {
          numEmbedded++;
          yield [s.id, row.labelId, new Binary(encodeStoredFloat32(row.vector))];
        }
      }
    }

    ctx.progress(0, `Embedding ${total} images with ${model.name}`);
    if (patches) {
      await writeLabelEmbeddings(ctx.db, ctx.dataset, patches, attr, (async function* () {
        for await (const [id, label, value] of rows()) yield [id, label as string, value] as [string, string, Binary];
      })());
    } else {
      await writeSampleField(ctx.db, ctx.dataset, fieldDoc(field, "fiftyone.core.fields.VectorField"), (async function* () {
        for await (const [id, , value] of rows()) yield [id, value] as [string, unknown];
      })());
    }
    return {
      field,
      model: model.name === modelRefName(ref) ? model.name : `${model.name} (${modelRefName(ref)})`,
      dim: model.dim,
      numSamples: total,
      numEmbedded,
      numFailures,
      failures,
      ...(patches ? { labelPath: `${patches.labelsPath}.${attr}` } : {}),
    };
  },
};
