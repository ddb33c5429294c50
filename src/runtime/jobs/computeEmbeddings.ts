import { BrainError } from "../../errors";
import { sharedDefaultModel, DEFAULT_MODEL_NAME } from "../../embeddings/defaultModel";
import { preprocessBatch, PreparedBatch } from "../../embeddings/imagePipeline";
import { nonFiniteRows } from "../../embeddings/onnxModel";
import { fieldDoc, validateNewFieldName, writeSampleField } from "../../fiftyone/fields";
import { encodeStoredFloat32 } from "../../fiftyone/numpy";
import { streamSamples } from "../../fiftyone/samples";
import { Binary } from "bson";
import { Job, JobContext, requireSamples } from "../job";
import { optionalBoolean, optionalInteger, optionalString } from "../params";
import { MediaFailure } from "./exactDuplicates";

export interface ComputeEmbeddingsResult {
  field: string;
  model: string;
  dim: number;
  numSamples: number;
  numEmbedded: number;
  numFailures: number;
  failures: MediaFailure[];
}

const MAX_REPORTED_FAILURES = 100;

type PathDoc = { _id: { toHexString(): string }; filepath: string };

/**
 * compute_embeddings: embeds each sample's image with the default model and stores the
 * vectors in a new VectorField in FiftyOne's own format (Python reads numpy arrays).
 * Decoding of the next batch (sharp, on libvips threads) runs while the model embeds
 * the current one, and vectors are written batch by batch, so memory stays flat.
 */
export const computeEmbeddingsJob: Job<ComputeEmbeddingsResult> = {
  name: "compute_embeddings",
  description: "Embed images with the default model into a new vector field",
  async run(ctx, params) {
    const field = optionalString(params, "embeddings_field") ?? "embeddings";
    const modelName = optionalString(params, "model") ?? DEFAULT_MODEL_NAME;
    if (modelName !== DEFAULT_MODEL_NAME) {
      throw new BrainError("INVALID_PARAMS", `Unknown model '${modelName}'; available: ${DEFAULT_MODEL_NAME}`);
    }
    const batchSize = optionalInteger(params, "batch_size", 16, 1);
    const skipFailures = optionalBoolean(params, "skip_failures", true);
    const fieldError = validateNewFieldName(ctx.dataset, field);
    if (fieldError) throw new BrainError("FIELD_EXISTS", fieldError);
    const total = await requireSamples(ctx);
    const model = await sharedDefaultModel();

    const failures: MediaFailure[] = [];
    let numFailures = 0;
    let numEmbedded = 0;
    const fail = (doc: PathDoc, error: string) => {
      const failure = { id: doc._id.toHexString(), filepath: doc.filepath, error };
      if (!skipFailures) throw new BrainError("MEDIA_UNREADABLE", `Cannot embed sample ${failure.id} (${failure.filepath}): ${error}`);
      numFailures++;
      if (failures.length < MAX_REPORTED_FAILURES) failures.push(failure);
    };

    async function* vectors(): AsyncGenerator<[string, unknown]> {
      const prepare = (docs: PathDoc[]) => preprocessBatch(docs.map((d) => d.filepath), model.manifest.input, true);
      let seen = 0;
      let pending: { docs: PathDoc[]; prepared: Promise<PreparedBatch> } | null = null;
      const batches = streamSamples<PathDoc>(ctx.db, ctx.dataset, ctx.target, { _id: 1, filepath: 1 }, batchSize);
      for (;;) {
        const next = await batches.next();
        // Start decoding the next batch before embedding the current one.
        const upcoming = next.done ? null : { docs: next.value, prepared: prepare(next.value) };
        if (pending) {
          yield* embedBatch(ctx, pending.docs, await pending.prepared);
          seen += pending.docs.length;
          ctx.progress(seen / total, `Embedded ${seen}/${total} images`);
        }
        if (!upcoming) break;
        pending = upcoming;
      }
    }

    async function* embedBatch(jobCtx: JobContext, docs: PathDoc[], prepared: PreparedBatch): AsyncGenerator<[string, unknown]> {
      jobCtx.signal.throwIfAborted();
      for (const f of prepared.failures) fail(docs[f.index], f.error);
      if (prepared.indices.length === 0) return;
      const out = await model.embed(prepared.data, prepared.indices.length);
      const bad = new Set(nonFiniteRows(out, model.dim));
      for (let slot = 0; slot < prepared.indices.length; slot++) {
        const doc = docs[prepared.indices[slot]];
        if (bad.has(slot)) {
          fail(doc, "the model returned NaN or infinite values");
          continue;
        }
        const row = out.subarray(slot * model.dim, (slot + 1) * model.dim);
        numEmbedded++;
        yield [doc._id.toHexString(), new Binary(encodeStoredFloat32(row))];
      }
    }

    ctx.progress(0, `Embedding ${total} images with ${modelName}`);
    await writeSampleField(ctx.db, ctx.dataset, fieldDoc(field, "fiftyone.core.fields.VectorField"), vectors());
    return { field, model: modelName, dim: model.dim, numSamples: total, numEmbedded, numFailures, failures };
  },
};
