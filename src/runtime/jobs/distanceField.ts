import { ObjectId } from "mongodb";
import { BrainError } from "../../errors";
import { findField, samplesCollection } from "../../fiftyone/datasets";
import { FLOAT_FIELD, scoreFieldError, writeScoreField } from "../../fiftyone/fields";
import { Job } from "../job";
import { optionalBoolean, RawParams, requiredString } from "../params";

/** Most results one request writes; a panel writes one page of query results. */
const MAX_VALUES = 100_000;

function idsAndDistances(params: RawParams): [string, number][] {
  const ids = params.sample_ids;
  const distances = params.distances;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string" || !ObjectId.isValid(id))) {
    throw new BrainError("INVALID_PARAMS", "'sample_ids' must be a list of sample ids");
  }
  if (!Array.isArray(distances) || distances.some((d) => typeof d !== "number" || !Number.isFinite(d))) {
    throw new BrainError("INVALID_PARAMS", "'distances' must be a list of finite numbers");
  }
  if (ids.length !== distances.length) {
    throw new BrainError("INVALID_PARAMS", `'sample_ids' has ${ids.length} entries but 'distances' has ${distances.length}`);
  }
  if (ids.length > MAX_VALUES) throw new BrainError("INVALID_PARAMS", `At most ${MAX_VALUES} distances per request (got ${ids.length})`);
  return (ids as string[]).map((id, i) => [id, distances[i] as number]);
}

/**
 * Writes the distances a query returned to a float field, so the grid's tiles show them.
 * With `replace`, the field is first emptied on every sample: a field reused query after
 * query then never shows an older query's distance on a sample the latest did not return.
 * Writing the values the panel already shows (rather than querying again) keeps the grid's
 * numbers identical to the panel's even if the grid's view changed in between.
 */
export const writeDistanceFieldJob: Job<{ written: number; cleared: number }> = {
  name: "write_distance_field",
  description: "Write query distances to a float field (optionally emptying it first)",
  async run(ctx, params) {
    const field = requiredString(params, "field");
    const values = idsAndDistances(params);
    const replace = optionalBoolean(params, "replace", false);
    // Checked before anything is changed: a field of another type is left untouched.
    const error = scoreFieldError(ctx.dataset, field);
    if (error) throw new BrainError("INVALID_FIELD_TYPE", error);
    let cleared = 0;
    if (replace && findField(ctx.dataset, field)?.ftype === FLOAT_FIELD) {
      const result = await samplesCollection(ctx.db, ctx.dataset).updateMany(
        { [field]: { $ne: null } },
        { $set: { [field]: null, last_modified_at: new Date() } },
      );
      cleared = result.modifiedCount;
    }
    await writeScoreField(ctx.db, ctx.dataset, field, values);
    return { written: values.length, cleared };
  },
};
