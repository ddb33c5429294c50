import { Db } from "mongodb";
import { BrainConfig } from "../config/brainConfig";
import { DatasetDoc } from "../fiftyone/datasets";
import { BrainError } from "../errors";
import { countSamples, ViewTarget } from "../fiftyone/samples";
import { RawParams } from "./params";

/** Everything a job gets: the database, its dataset and view, and ways to report. */
export interface JobContext {
  db: Db;
  dataset: DatasetDoc;
  target: ViewTarget;
  /** FiftyOne version recorded on new runs. */
  fiftyoneVersion: string;
  /** The brain config for this job: environment, config file, and the plugin's secrets. */
  brainConfig: BrainConfig;
  signal: AbortSignal;
  progress(fraction: number, label?: string): void;
}

export interface Job<R = unknown> {
  /** The method name callers use (operators, CLI, bridge). */
  name: string;
  description: string;
  run(ctx: JobContext, params: RawParams): Promise<R>;
}

/** The number of samples in the job's view; an empty view is an error every method reports alike. */
export async function requireSamples(ctx: JobContext): Promise<number> {
  const total = await countSamples(ctx.db, ctx.dataset, ctx.target);
  if (total === 0) throw new BrainError("EMPTY_VIEW", "The target view has no samples");
  return total;
}

/** The job's context with progress scaled into [0, share]. */
export function scaledProgress(ctx: JobContext, share: number): JobContext {
  return { ...ctx, progress: (f, label) => ctx.progress(share * f, label) };
}
