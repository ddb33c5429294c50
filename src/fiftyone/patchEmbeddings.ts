import { Db } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc } from "./datasets";
import { storedArray } from "./embeddings";
import { requireLabelField } from "./labels";
import { countSamples, streamSamples, ViewTarget } from "./samples";

/** The list inside each patch label container, by label class. */
const LIST_OF: Record<string, string> = {
  Detections: "detections",
  Polylines: "polylines",
  Keypoints: "keypoints",
  Classifications: "classifications",
};
const SINGLE = ["Detection", "Polyline", "Keypoint", "Classification"];

export interface PatchEmbeddings {
  /** The sample of each row. */
  sampleIds: string[];
  /** The label of each row (the patch). */
  labelIds: string[];
  vectors: Float32Array;
  dim: number;
  /** Labels of the view without an embedding; skipped. */
  numMissing: number;
  /** The label class of the patches field. */
  labelType: string;
}

/**
 * Reads one embedding per label of a patches field (an attribute of each label, given
 * relative — `emb` — or fully qualified — `ground_truth.detections.emb`), flattened in
 * sample order then label order, as the reference does; samples without labels add
 * nothing and labels without the attribute are skipped and counted. Streamed in batches;
 * the matrix grows by doubling.
 */
export async function readPatchEmbeddings(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  patchesField: string,
  embeddingsField: string,
  options: { signal?: AbortSignal; progress?: (fraction: number, label?: string) => void } = {},
): Promise<PatchEmbeddings> {
  const labelType = requireLabelField(dataset, patchesField, [...Object.keys(LIST_OF), ...SINGLE], "patches_field");
  const list = LIST_OF[labelType] ?? null;
  const prefix = list ? `${patchesField}.${list}.` : `${patchesField}.`;
  const attr = embeddingsField.startsWith(prefix) ? embeddingsField.slice(prefix.length) : embeddingsField;
  if (!attr || attr.includes(".")) {
    throw new BrainError("INVALID_PARAMS", `Embeddings '${embeddingsField}': give an attribute of the '${patchesField}' labels, e.g. '${prefix}embedding'`);
  }
  const total = await countSamples(db, dataset, target);
  const sampleIds: string[] = [];
  const labelIds: string[] = [];
  let vectors = new Float32Array(0);
  let dim = -1;
  let numMissing = 0;
  let seen = 0;
  type Label = { _id?: { toHexString(): string }; [k: string]: unknown };
  type Doc = { _id: { toHexString(): string }; [k: string]: unknown };
  for await (const batch of streamSamples<Doc>(db, dataset, target, { _id: 1, [patchesField]: 1 })) {
    options.signal?.throwIfAborted();
    for (const doc of batch) {
      const container = doc[patchesField] as Record<string, unknown> | null | undefined;
      if (!container) continue;
      const labels = (list ? (container[list] as Label[] | undefined) ?? [] : [container as Label]).filter(Boolean);
      for (const label of labels) {
        const labelId = label._id?.toHexString() ?? "";
        let arr: ReturnType<typeof storedArray>;
        try {
          arr = storedArray(label[attr]);
        } catch (err) {
          throw new BrainError("INVALID_DATA", `Embedding '${attr}' of label '${labelId}' in '${patchesField}' ${(err as Error).message}`);
        }
        if (arr === null) {
          numMissing++;
          continue;
        }
        if (arr.shape.length !== 1 || arr.shape[0] === 0) {
          throw new BrainError("INVALID_DATA", `Embedding '${attr}' of label '${labelId}' in '${patchesField}' is not a non-empty vector`);
        }
        if (dim < 0) dim = arr.shape[0];
        if (arr.shape[0] !== dim) {
          throw new BrainError("INVALID_DATA", `Patch embeddings have different dimensions: label '${labelId}' has ${arr.shape[0]}, earlier labels ${dim}`);
        }
        const row = labelIds.length;
        if ((row + 1) * dim > vectors.length) {
          const grown = new Float32Array(Math.max(1024 * dim, vectors.length * 2));
          grown.set(vectors);
          vectors = grown;
        }
        for (let c = 0; c < dim; c++) {
          const v = arr.data[c];
          if (!Number.isFinite(v)) throw new BrainError("INVALID_DATA", `Embedding '${attr}' of label '${labelId}' in '${patchesField}' contains ${v} (element ${c})`);
          vectors[row * dim + c] = v;
        }
        sampleIds.push(doc._id.toHexString());
        labelIds.push(labelId);
      }
    }
    seen += batch.length;
    options.progress?.(total ? seen / total : 1, `Read the patches of ${seen}/${total} samples`);
  }
  const d = Math.max(dim, 0);
  return { sampleIds, labelIds, vectors: vectors.slice(0, labelIds.length * d), dim: d, numMissing, labelType };
}
