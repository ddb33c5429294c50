import { Db, Document, ObjectId } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc, framesCollection, samplesCollection } from "./datasets";

/**
 * The samples a job runs on. FiftyOne compiles a view to an aggregation pipeline over
 * the dataset's sample collection; the bridge sends that pipeline (or explicit ids).
 */
export interface ViewTarget {
  /** Aggregation stages of the view; empty or absent for the whole dataset. */
  pipeline?: Document[];
  /** Restrict to these sample ids (applied after the pipeline). */
  sampleIds?: string[];
  /** FiftyOne's serialized view stages (JSON strings), stored with brain runs; null = whole dataset. */
  viewStages?: string[] | null;
  /** The collection the pipeline runs on when it is not the dataset's (a patches view's `patches.*`). */
  collection?: string;
  /** The view is a patches view: its documents are patches, with `_sample_id`. */
  isPatches?: boolean;
}

export function toObjectIds(ids: readonly string[]): ObjectId[] {
  return ids.map((id) => {
    if (!ObjectId.isValid(id)) throw new BrainError("INVALID_PARAMS", `'${id}' is not a sample id`);
    return new ObjectId(id);
  });
}

function buildPipeline(target: ViewTarget, projection: Document): Document[] {
  const stages: Document[] = [...(target.pipeline ?? [])];
  if (target.sampleIds) stages.push({ $match: { _id: { $in: toObjectIds(target.sampleIds) } } });
  stages.push({ $project: projection });
  return stages;
}

/**
 * Streams the target's samples in batches, in the view's order. Only the projected
 * fields are read and only one batch is held at a time, so memory stays flat.
 */
export function streamSamples<T extends Document>(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  projection: Document,
  batchSize = 1000,
): AsyncGenerator<T[]> {
  return streamBatches<T>(db, dataset, target, projection, batchSize, false);
}

/** As streamSamples, each document as its BSON bytes (for readers that decode only what they need). */
export function streamRawSamples(db: Db, dataset: DatasetDoc, target: ViewTarget, projection: Document, batchSize = 1000): AsyncGenerator<Buffer[]> {
  return streamBatches<Buffer>(db, dataset, target, projection, batchSize, true);
}

async function* streamBatches<T>(db: Db, dataset: DatasetDoc, target: ViewTarget, projection: Document, batchSize: number, raw: boolean): AsyncGenerator<T[]> {
  // with `raw`, the driver yields each document's bytes (a Buffer) instead of an object
  const cursor = samplesCollection(db, dataset).aggregate(buildPipeline(target, projection), { allowDiskUse: true, batchSize, raw });
  try {
    let batch: T[] = [];
    for await (const doc of cursor) {
      batch.push(doc as unknown as T);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    await cursor.close();
  }
}

/**
 * Iterates `source` with its next item already requested, so fetching the next batch
 * overlaps the consumer's work on this one. Stopping early closes the source.
 */
export async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  let done = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        done = true;
        return;
      }
      next = it.next();
      yield r.value;
    }
  } finally {
    if (!done) {
      next.catch(() => undefined); // its outcome no longer matters
      await it.return?.(undefined);
    }
  }
}

export async function countSamples(db: Db, dataset: DatasetDoc, target: ViewTarget): Promise<number> {
  const stages = buildPipeline(target, { _id: 1 });
  stages.push({ $count: "n" });
  const [row] = await samplesCollection(db, dataset).aggregate<{ n: number }>(stages, { allowDiskUse: true }).toArray();
  return row?.n ?? 0;
}

/** A frame document with the projected fields. */
export type FrameDoc = { _id: ObjectId; _sample_id: ObjectId; frame_number: number; [k: string]: unknown };

/**
 * Streams the target's videos in batches with their frames (in frame order), reading the
 * given frame fields. A view whose pipeline attaches the frames (FiftyOne does so for
 * frame-level stages: match_frames, filter_labels on frames, …) is read with its frames as
 * the view shows them; otherwise every frame of its videos is read.
 */
export async function* streamVideoFrames(
  db: Db,
  dataset: DatasetDoc,
  target: ViewTarget,
  fields: readonly string[],
): AsyncGenerator<{ sampleId: ObjectId; frames: FrameDoc[] }[]> {
  const frames = framesCollection(db, dataset);
  const frameProjection = Object.fromEntries([["_sample_id", 1], ["frame_number", 1], ...fields.map((f) => [f, 1])]);
  const attached = (target.pipeline ?? []).some((stage) => stage.$lookup?.from === frames.collectionName && stage.$lookup?.as === "frames");
  // (an array's documents keep only what is projected: their _id too)
  const projection = attached ? { _id: 1, ...Object.fromEntries(["_id", ...Object.keys(frameProjection)].map((k) => [`frames.${k}`, 1])) } : { _id: 1 };
  type SampleDoc = { _id: ObjectId; frames?: FrameDoc[] };
  for await (const batch of streamSamples<SampleDoc>(db, dataset, target, projection)) {
    if (attached) {
      yield batch.map((d) => ({ sampleId: d._id, frames: d.frames ?? [] }));
      continue;
    }
    const bySample = new Map<string, FrameDoc[]>(batch.map((d) => [d._id.toHexString(), []]));
    const docs = await frames
      .find<FrameDoc>({ _sample_id: { $in: batch.map((d) => d._id) } }, { projection: frameProjection })
      .sort({ _sample_id: 1, frame_number: 1 })
      .toArray();
    for (const f of docs) bySample.get(f._sample_id.toHexString())?.push(f);
    yield batch.map((d) => ({ sampleId: d._id, frames: bySample.get(d._id.toHexString()) ?? [] }));
  }
}
