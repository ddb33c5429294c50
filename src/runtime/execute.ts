import { EJSON } from "bson";
import { Document } from "mongodb";
import { BrainError } from "../errors";
import { DatabaseLocation, openDatabase } from "../fiftyone/database";
import { loadDataset } from "../fiftyone/datasets";
import { ViewTarget } from "../fiftyone/samples";
import { getJob } from "./registry";
import { asParams } from "./params";

/** One request to the runtime, as the bridge and the CLI send it. */
export interface JobRequest {
  method: string;
  params?: unknown;
  database: DatabaseLocation;
  dataset: string;
  target?: {
    /** The view's aggregation pipeline in MongoDB Extended JSON (ObjectIds, dates). */
    pipeline?: string | Document[];
    sample_ids?: string[];
    view_stages?: string[] | null;
    collection?: string;
    is_patches?: boolean;
  };
  fiftyone_version?: string;
}

export type ProgressListener = (fraction: number, label?: string) => void;

export async function executeJob(
  request: JobRequest,
  onProgress: ProgressListener = () => undefined,
  signal: AbortSignal = new AbortController().signal,
): Promise<unknown> {
  if (!request || typeof request.method !== "string") throw new BrainError("INVALID_PARAMS", "A method name is required");
  const job = getJob(request.method);
  const params = asParams(request.params);
  const db = await openDatabase(request.database);
  const dataset = await loadDataset(db, request.dataset);
  return job.run(
    {
      db,
      dataset,
      target: parseTarget(request.target),
      fiftyoneVersion: request.fiftyone_version ?? dataset.version ?? "unknown",
      signal,
      progress: (fraction, label) => onProgress(Math.max(0, Math.min(1, fraction)), label),
    },
    params,
  );
}

function parseTarget(raw: JobRequest["target"]): ViewTarget {
  if (!raw) return { viewStages: null };
  const pipeline =
    typeof raw.pipeline === "string" ? (EJSON.parse(raw.pipeline, { relaxed: false }) as Document[]) : raw.pipeline;
  if (pipeline !== undefined && !Array.isArray(pipeline)) throw new BrainError("INVALID_PARAMS", "The view pipeline must be a list of stages");
  if (raw.collection !== undefined && (typeof raw.collection !== "string" || !/^(samples|patches|frames|clips)\./.test(raw.collection))) {
    throw new BrainError("INVALID_PARAMS", "The view's collection must be a FiftyOne sample collection");
  }
  return {
    pipeline,
    sampleIds: raw.sample_ids,
    viewStages: raw.view_stages ?? null,
    ...(raw.collection ? { collection: raw.collection } : {}),
    ...(raw.is_patches ? { isPatches: true } : {}),
  };
}
