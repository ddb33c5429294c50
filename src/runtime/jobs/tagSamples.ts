import { samplesCollection } from "../../fiftyone/datasets";
import { toObjectIds } from "../../fiftyone/samples";
import { BrainError } from "../../errors";
import { Job } from "../job";
import { requiredString } from "../params";

/** Adds a tag to samples: the default, reversible action on duplicates and leaks. */
export const tagSamplesJob: Job<{ tagged: number }> = {
  name: "tag_samples",
  description: "Tag the given samples",
  async run(ctx, params) {
    const tag = requiredString(params, "tag");
    const ids = params.sample_ids;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
      throw new BrainError("INVALID_PARAMS", "'sample_ids' must be a list of sample ids");
    }
    const { modifiedCount } = await samplesCollection(ctx.db, ctx.dataset).updateMany(
      { _id: { $in: toObjectIds(ids as string[]) }, tags: { $ne: tag } },
      { $addToSet: { tags: tag }, $set: { last_modified_at: new Date() } },
    );
    return { tagged: modifiedCount };
  },
};
