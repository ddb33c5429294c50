import { execFileSync } from "node:child_process";
import { DatabaseLocation } from "../src/fiftyone/database";

/** What every benchmark gets: one FiftyOne database, Python with fiftyone-brain, a scratch folder. */
export interface BenchContext {
  database: DatabaseLocation;
  env: NodeJS.ProcessEnv;
  python: string;
  workDir: string;
  repeats: number;
  createDataset(name: string, filepaths: string[]): Promise<void>;
}

export function datasetCreator(python: string, env: NodeJS.ProcessEnv) {
  return async (name: string, filepaths: string[]): Promise<void> => {
    execFileSync(python, ["-c", `
import json, sys, fiftyone as fo
paths = json.load(sys.stdin)
ds = fo.Dataset(${JSON.stringify(name)}, overwrite=True)
ds.add_samples([fo.Sample(filepath=p) for p in paths], progress=False)
`], { env, input: JSON.stringify(filepaths) });
  };
}
