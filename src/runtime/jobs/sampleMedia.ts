import { BrainError } from "../../errors";
import { samplesCollection } from "../../fiftyone/datasets";
import { toObjectIds } from "../../fiftyone/samples";
import { Job } from "../job";

/** Largest id list one request may ask about; panels show a page of results, not a dataset. */
const MAX_IDS = 10_000;

export interface SampleFilepathsResult {
  /** Sample id → media path; ids that no longer exist are absent. */
  filepaths: Record<string, string>;
}

/** Media paths of the given samples, so panels can show thumbnails of query results. */
export const sampleFilepathsJob: Job<SampleFilepathsResult> = {
  name: "get_sample_filepaths",
  description: "Media paths of the given samples",
  async run(ctx, params) {
    const ids = params.sample_ids;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
      throw new BrainError("INVALID_PARAMS", "'sample_ids' must be a list of sample ids");
    }
    if (ids.length > MAX_IDS) {
      throw new BrainError("INVALID_PARAMS", `At most ${MAX_IDS} sample ids per request (got ${ids.length})`);
    }
    const filepaths: Record<string, string> = {};
    const cursor = samplesCollection(ctx.db, ctx.dataset).find(
      { _id: { $in: toObjectIds(ids as string[]) } },
      { projection: { filepath: 1 } },
    );
    for await (const doc of cursor) filepaths[doc._id.toHexString()] = doc.filepath as string;
    return { filepaths };
  },
};
