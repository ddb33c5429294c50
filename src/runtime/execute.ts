import { EJSON } from "bson";
import { Document } from "mongodb";
import { loadBrainConfig } from "../config/brainConfig";
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
  };
  fiftyone_version?: string;
  /**
   * Brain config values (`FIFTYONE_BRAIN_*`) from the plugin's secrets, layered over the
   * runtime's environment for this job only; never logged.
   */
  config_env?: Record<string, string>;
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
      brainConfig: loadBrainConfig({ ...process.env, ...configEnv(request.config_env) }),
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
  return { pipeline, sampleIds: raw.sample_ids, viewStages: raw.view_stages ?? null };
}

/** Only `FIFTYONE_BRAIN_*` string values are accepted, so secrets cannot change anything else. */
function configEnv(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new BrainError("INVALID_PARAMS", "config_env must be an object of FIFTYONE_BRAIN_* values");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith("FIFTYONE_BRAIN_") && typeof v === "string") out[k] = v;
  }
  return out;
}

/** The secret values of a request, to be masked in anything the runtime logs or returns. */
export function secretValues(request: Pick<JobRequest, "config_env">): string[] {
  return Object.values(request.config_env ?? {}).filter((v): v is string => typeof v === "string" && v.length >= 4);
}

export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}
