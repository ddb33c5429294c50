import { BrainError } from "../../errors";
import { samplesCollection } from "../../fiftyone/datasets";
import { toObjectIds } from "../../fiftyone/samples";
import { Job } from "../job";
import { RawParams, requiredString } from "../params";

/** Actions people take on results: tagging (the default, reversible) and deleting. */

function sampleIds(params: RawParams): string[] {
  const ids = params.sample_ids;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
    throw new BrainError("INVALID_PARAMS", "'sample_ids' must be a list of sample ids");
  }
  return ids as string[];
}

export const tagSamplesJob: Job<{ tagged: number }> = {
  name: "tag_samples",
  description: "Tag the given samples",
  async run(ctx, params) {
    const tag = requiredString(params, "tag");
    const { modifiedCount } = await samplesCollection(ctx.db, ctx.dataset).updateMany(
      { _id: { $in: toObjectIds(sampleIds(params)) }, tags: { $ne: tag } },
      { $addToSet: { tags: tag }, $set: { last_modified_at: new Date() } },
    );
    return { tagged: modifiedCount };
  },
};

/**
 * Deletes samples (and their frames). Callers confirm with the user first; the
 * `confirm` parameter must repeat the number of samples to delete, so a stale or
 * mistaken request deletes nothing.
 */
export const deleteSamplesJob: Job<{ deleted: number }> = {
  name: "delete_samples",
  description: "Delete the given samples (requires confirm = their count)",
  async run(ctx, params) {
    const ids = toObjectIds(sampleIds(params));
    if (params.confirm !== ids.length) {
      throw new BrainError("INVALID_PARAMS", `Deleting ${ids.length} samples needs confirm=${ids.length}`);
    }
    const frames = ctx.dataset.frame_collection_name;
    if (frames) await ctx.db.collection(frames).deleteMany({ _sample_id: { $in: ids } });
    const { deletedCount } = await samplesCollection(ctx.db, ctx.dataset).deleteMany({ _id: { $in: ids } });
    return { deleted: deletedCount };
  },
};
