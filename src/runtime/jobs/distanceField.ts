import { BrainError } from "../../errors";
import { findField, samplesCollection } from "../../fiftyone/datasets";
import { FLOAT_FIELD } from "../../fiftyone/fields";
import { Job } from "../job";
import { requiredString } from "../params";

/**
 * Empties a float field of query distances on every sample. `sort_by_similarity` writes
 * distances only for the samples it returns, so a field reused query after query would
 * otherwise show the distances of older queries on every other sample.
 */
export const clearDistanceFieldJob: Job<{ cleared: number }> = {
  name: "clear_distance_field",
  description: "Empty a float field of query distances on every sample",
  async run(ctx, params) {
    const field = requiredString(params, "field");
    const existing = findField(ctx.dataset, field);
    if (!existing) return { cleared: 0 };
    if (existing.ftype !== FLOAT_FIELD) {
      throw new BrainError("INVALID_FIELD_TYPE", `Field '${field}' is a ${existing.ftype.split(".").pop()}, not a float field of distances; nothing was changed`);
    }
    const { modifiedCount } = await samplesCollection(ctx.db, ctx.dataset).updateMany(
      { [field]: { $ne: null } },
      { $set: { [field]: null, last_modified_at: new Date() } },
    );
    return { cleared: modifiedCount };
  },
};
