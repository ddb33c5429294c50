import { Db, ObjectId } from "mongodb";
import { BrainError } from "../errors";

/** A field of a dataset's schema, as FiftyOne stores it in the dataset document. */
export interface FieldDoc {
  name: string;
  ftype: string;
  embedded_doc_type: string | null;
  subfield: string | null;
  fields: FieldDoc[];
  db_field: string | null;
  description: string | null;
  info: Record<string, unknown> | null;
  read_only: boolean;
  created_at: Date | null;
}

/** The parts of FiftyOne's dataset document this runtime reads. */
export interface DatasetDoc {
  _id: ObjectId;
  name: string;
  version?: string;
  media_type?: string;
  sample_collection_name: string;
  frame_collection_name?: string | null;
  sample_fields: FieldDoc[];
  /** Video datasets: the schema of their frames. */
  frame_fields?: FieldDoc[] | null;
  brain_methods?: Record<string, ObjectId> | null;
}

export async function loadDataset(db: Db, name: string): Promise<DatasetDoc> {
  if (typeof name !== "string" || !name) throw new BrainError("INVALID_PARAMS", "A dataset name is required");
  const doc = await db.collection<DatasetDoc>("datasets").findOne({ name });
  if (!doc) throw new BrainError("DATASET_NOT_FOUND", `Dataset '${name}' not found`);
  return doc;
}

export function findField(dataset: DatasetDoc, name: string): FieldDoc | undefined {
  return dataset.sample_fields.find((f) => f.name === name);
}

export function findFrameField(dataset: DatasetDoc, name: string): FieldDoc | undefined {
  return (dataset.frame_fields ?? []).find((f) => f.name === name);
}

export const FRAMES_PREFIX = "frames.";

/** The frames of a video dataset, one document per frame with `_sample_id` and `frame_number`. */
export function framesCollection(db: Db, dataset: DatasetDoc) {
  if (dataset.media_type !== "video" || !dataset.frame_collection_name) {
    throw new BrainError("INVALID_PARAMS", `Dataset '${dataset.name}' is not a video dataset: it has no frames`);
  }
  return db.collection(dataset.frame_collection_name);
}

export function samplesCollection(db: Db, dataset: DatasetDoc) {
  return db.collection(dataset.sample_collection_name);
}
