import { inflateSync } from "node:zlib";
import { Db } from "mongodb";
import { BrainError } from "../errors";
import { DatasetDoc } from "./datasets";
import { NumpyFormatError, parseNpy, parseNpyStrings } from "./numpy";
import { getBrainRun, loadBrainResults, RunConfig, RunDoc } from "./runs";

/**
 * Visualization runs in FiftyOne's own results format (fiftyone.brain.visualization):
 * the config names the patches field and the number of dimensions; the results hold
 * `points` (N × dims), `sample_ids` and, for patches, `label_ids`. Each array is either a
 * zlib-compressed, base64-encoded .npy string (current fiftyone-brain) or a JSON list
 * (earlier versions); both are read.
 */
export interface VisualizationRun {
  key: string;
  method: string | null;
  patchesField: string | null;
  numDims: number;
  /** Row-major N × numDims. */
  points: Float64Array;
  sampleIds: string[];
  /** Patch plots: the label id of each point; null for sample plots. */
  labelIds: string[] | null;
}

export interface VisualizationRunSummary {
  key: string;
  method: string | null;
  patchesField: string | null;
  numDims: number;
  timestamp: string;
}

export function isVisualizationConfig(config: RunConfig): boolean {
  return config.type === "visualization" || config.cls.startsWith("fiftyone.brain.visualization.");
}

export async function listVisualizationRuns(db: Db, dataset: DatasetDoc): Promise<VisualizationRunSummary[]> {
  const ids = Object.values(dataset.brain_methods ?? {});
  if (!ids.length) return [];
  const docs = await db.collection<RunDoc>("runs").find({ _id: { $in: ids } }).toArray();
  return docs
    .filter((d) => isVisualizationConfig(d.config))
    .map((d) => ({
      key: d.key,
      method: d.config.method ?? null,
      patchesField: typeof d.config.patches_field === "string" ? d.config.patches_field : null,
      numDims: typeof d.config.num_dims === "number" ? d.config.num_dims : 2,
      timestamp: d.timestamp.toISOString(),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

export async function loadVisualizationRun(db: Db, dataset: DatasetDoc, key: string): Promise<VisualizationRun> {
  const run = await getBrainRun(db, dataset, key);
  if (!isVisualizationConfig(run.config)) {
    throw new BrainError("INVALID_PARAMS", `Brain run '${key}' is a ${run.config.type} run, not a visualization`);
  }
  const results = await loadBrainResults(db, run);
  if (!results) throw new BrainError("INVALID_DATA", `The results of visualization run '${key}' are not available yet`);
  const where = `visualization run '${key}'`;
  const points = readNumbers(results.points, `${where} points`);
  const sampleIds = readStrings(results.sample_ids, `${where} sample ids`);
  const labelIds = results.label_ids === null || results.label_ids === undefined ? null : readStrings(results.label_ids, `${where} label ids`);
  if (!points || !sampleIds) throw new BrainError("INVALID_DATA", `The ${where} has no points or no sample ids`);
  const n = sampleIds.length;
  const numDims = n ? points.data.length / n : Number(run.config.num_dims ?? 2);
  if (!Number.isInteger(numDims) || numDims < 1 || (labelIds && labelIds.length !== n)) {
    throw new BrainError("INVALID_DATA", `The ${where} is inconsistent: ${points.data.length} coordinates for ${n} ids`);
  }
  const patchesField = typeof run.config.patches_field === "string" ? run.config.patches_field : null;
  return { key, method: run.config.method ?? null, patchesField, numDims, points: points.data, sampleIds, labelIds };
}

function npyBytes(value: string, where: string): Buffer {
  try {
    return inflateSync(Buffer.from(value, "base64"));
  } catch (err) {
    throw new BrainError("INVALID_DATA", `The ${where} are not a serialized array (${(err as Error).message})`);
  }
}

function readNumbers(value: unknown, where: string): { data: Float64Array } | null {
  if (value === null || value === undefined) return null;
  try {
    if (typeof value === "string") {
      const data = parseNpy(npyBytes(value, where)).data;
      return { data: data instanceof Float64Array ? data : Float64Array.from(data) };
    }
    if (Array.isArray(value)) return { data: Float64Array.from((value as unknown[]).flat(2) as number[]) };
  } catch (err) {
    if (err instanceof NumpyFormatError) throw new BrainError("INVALID_DATA", `The ${where} cannot be read: ${err.message}`);
    throw err;
  }
  throw new BrainError("INVALID_DATA", `The ${where} are stored in an unknown format`);
}

function readStrings(value: unknown, where: string): string[] | null {
  if (value === null || value === undefined) return null;
  try {
    if (typeof value === "string") return parseNpyStrings(npyBytes(value, where));
    if (Array.isArray(value)) return value.map(String);
  } catch (err) {
    if (err instanceof NumpyFormatError) throw new BrainError("INVALID_DATA", `The ${where} cannot be read: ${err.message}`);
    throw err;
  }
  throw new BrainError("INVALID_DATA", `The ${where} are stored in an unknown format`);
}
