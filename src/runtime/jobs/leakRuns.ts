import { BrainError } from "../../errors";
import { samplesCollection } from "../../fiftyone/datasets";
import { getBrainRun, loadBrainResults } from "../../fiftyone/runs";
import { toObjectIds } from "../../fiftyone/samples";
import { Job } from "../job";
import { requiredString } from "../params";
import type { StoredLeaks } from "./leakySplits";

/** A leaky-splits run as the Leaks panel needs it: graph, splits, and the linked samples' paths. */
export interface LeakRunView extends StoredLeaks {
  brainKey: string;
  metric: string;
  filepaths: Record<string, string>;
  /** Samples of the run's graph that no longer exist. */
  missing: number;
}

export const getLeakRunJob: Job<LeakRunView> = {
  name: "get_leak_run",
  description: "A leaky-splits run with its neighbour graph and file paths",
  async run(ctx, params) {
    const brainKey = requiredString(params, "brain_key");
    const run = await getBrainRun(ctx.db, ctx.dataset, brainKey);
    const results = (await loadBrainResults(ctx.db, run)) as (StoredLeaks & Record<string, unknown>) | null;
    if (run.config.method !== "leaky_splits" || !results?.graph || !results.split_of) {
      throw new BrainError("INVALID_PARAMS", `Brain run '${brainKey}' is not a leaky-splits run of this plugin`);
    }
    const filepaths: Record<string, string> = {};
    const cursor = samplesCollection(ctx.db, ctx.dataset).find({ _id: { $in: toObjectIds(results.graph.ids) } }, { projection: { filepath: 1 } });
    for await (const doc of cursor) filepaths[doc._id.toHexString()] = doc.filepath as string;
    return {
      brainKey,
      metric: String(run.config.metric ?? "cosine"),
      thresh: Number(results.thresh),
      leak_ids: results.leak_ids,
      splits: results.splits,
      split_stages: results.split_stages,
      graph: results.graph,
      split_of: results.split_of,
      filepaths,
      missing: results.graph.ids.filter((id) => !(id in filepaths)).length,
    };
  },
};
