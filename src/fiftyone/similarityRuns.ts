import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Db, Document, GridFSBucket, ObjectId } from "mongodb";
import { BlobStore } from "../index/backends";
import { IndexItems } from "../index/similarityIndex";
import { DatasetDoc, findField } from "./datasets";
import { embeddingsFieldDoc, readEmbeddings } from "./embeddings";
import { patchField, readLabelEmbeddings } from "./labelEmbeddings";
import { labelType, requireLabelField } from "./labels";
import { RunDoc, updateRunConfig, uploadJson } from "./runs";
import { streamSamples, ViewTarget } from "./samples";

/** Storage of similarity indexes with their brain runs: GridFS files, embeddings of samples and patches. */

/** Label types whose labels are patches, and the list attribute holding them. */
export const PATCH_LISTS: Record<string, string> = {
  Detections: "detections",
  Polylines: "polylines",
  Keypoints: "keypoints",
};

export function gridfsStore(db: Db): BlobStore {
  const bucket = new GridFSBucket(db);
  return {
    async putFile(path, name) {
      const upload = bucket.openUploadStream(name, { contentType: "application/octet-stream" } as never);
      await pipeline(createReadStream(path), upload);
      return (upload.id as ObjectId).toHexString();
    },
    async getFile(id, path) {
      if (!ObjectId.isValid(id)) throw new Error(`'${id}' is not a file id`);
      await pipeline(bucket.openDownloadStream(new ObjectId(id)), createWriteStream(path));
    },
    async deleteFile(id) {
      if (ObjectId.isValid(id)) await bucket.delete(new ObjectId(id));
    },
  };
}

export interface ItemsMatrix {
  items: IndexItems;
  dim: number;
  /** Samples (or labels) of the view without an embedding. */
  numMissing: number;
}

/**
 * The embeddings of the view's samples (a top-level vector field), or, with
 * `patchesField`, of its labels (the attribute `field` of each label of that field).
 */
export async function readIndexItems(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  field: string,
  patchesField: string | null,
  options: { signal?: AbortSignal; progress?: (f: number, label?: string) => void } = {},
): Promise<ItemsMatrix> {
  if (!patchesField) {
    const emb = await readEmbeddings(db, dataset, target, field, options);
    return { items: { ids: emb.ids, vectors: emb.vectors }, dim: emb.dim, numMissing: emb.numMissing };
  }
  const read = await readLabelEmbeddings(db, dataset, target, patchField(dataset, patchesField, "patches_field"), field, options.signal);
  return { items: { ids: read.labelIds, sampleIds: read.ids, vectors: read.vectors }, dim: read.dim, numMissing: read.numMissing };
}

/** `detections` for a Detections field, etc.; errors name what the field is. */
export function patchListPath(dataset: DatasetDoc, patchesField: string): string {
  requireLabelField(dataset, patchesField, Object.keys(PATCH_LISTS), "patches_field");
  return PATCH_LISTS[labelType(findField(dataset, patchesField)!)!];
}

/** Checks the embeddings source of a new index before anything is read. */
export function checkEmbeddingsSource(dataset: DatasetDoc, field: string, patchesField: string | null): void {
  if (patchesField) patchListPath(dataset, patchesField);
  else embeddingsFieldDoc(dataset, field);
}

/** Replaces a run's results document (new GridFS file first, then the run, then the old file goes). */
export async function replaceRunResults(db: Db, run: RunDoc, results: Document, configUpdate: Document = {}): Promise<RunDoc> {
  const bucket = new GridFSBucket(db);
  const id = await uploadJson(bucket, results);
  try {
    await updateRunConfig(db, run, configUpdate, { results: id });
  } catch (err) {
    await bucket.delete(id).catch(() => undefined);
    throw err;
  }
  if (run.results) await bucket.delete(run.results).catch(() => undefined);
  run.results = id;
  Object.assign(run.config, configUpdate);
  return run;
}

/** The view's sample ids, or null when the target is the whole dataset (no restriction needed). */
export async function viewSampleIds(db: Db, dataset: DatasetDoc, target: ViewTarget): Promise<Set<string> | null> {
  if (!target.sampleIds && !(target.pipeline && target.pipeline.length)) return null;
  const ids = new Set<string>();
  for await (const batch of streamSamples<{ _id: ObjectId }>(db, dataset, target, { _id: 1 }, 5000)) {
    for (const doc of batch) ids.add(doc._id.toHexString());
  }
  return ids;
}
