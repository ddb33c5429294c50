import { Db } from "mongodb";
import { DatasetDoc } from "../fiftyone/datasets";
import { ViewTarget } from "../fiftyone/samples";
import { RawParams } from "./params";

/** Everything a job gets: the database, its dataset and view, and ways to report. */
export interface JobContext {
  db: Db;
  dataset: DatasetDoc;
  target: ViewTarget;
  /** FiftyOne version recorded on new runs. */
  fiftyoneVersion: string;
  signal: AbortSignal;
  progress(fraction: number, label?: string): void;
}

export interface Job<R = unknown> {
  /** The method name callers use (operators, CLI, bridge). */
  name: string;
  description: string;
  run(ctx: JobContext, params: RawParams): Promise<R>;
}
