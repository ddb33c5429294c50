import { BrainError } from "../../errors";
import { samplesCollection } from "../../fiftyone/datasets";
import { readEmbeddings } from "../../fiftyone/embeddings";
import { assignSplits, findLeaks } from "../../methods/leakySplits";
import { findDuplicates } from "../../methods/nearDuplicates";
import { Metric, radiusGraph } from "../../methods/neighborGraph";
import { Job } from "../job";
import { optionalString, requiredString } from "../params";
import { resolveMetric, resolveThreshold } from "./nearDuplicates";

export interface LeakySplitsResult {
  splits: string[];
  splitSizes: number[];
  threshold: number;
  metric: Metric;
  numSamples: number;
  numMissing: number;
  leakIds: string[];
  /** Pairs of splits sharing samples (later splits win, as in the reference). */
  overlaps: { a: string; b: string; count: number }[];
}

/**
 * compute_leaky_splits from an embeddings field, with splits given as sample tags
 * (`split_tags`) or by the values of a field (`split_field`, sorted, as the reference
 * does). Leaks are the reference's: each near-duplicate group's kept sample with its
 * duplicates from other splits.
 */
export const leakySplitsJob: Job<LeakySplitsResult> = {
  name: "compute_leaky_splits",
  description: "Find near duplicates that cross train/test splits",
  async run(ctx, params) {
    const field = requiredString(params, "embeddings");
    const metric = resolveMetric(params, ctx.brainConfig);
    const threshold = resolveThreshold(params, metric);
    const splitField = optionalString(params, "split_field");
    const tags = params.split_tags;
    if ((splitField === undefined) === (tags === undefined)) {
      throw new BrainError("INVALID_PARAMS", "Give the splits either as 'split_tags' (a list of tags) or as 'split_field'");
    }
    const emb = await readEmbeddings(ctx.db, ctx.dataset, ctx.target, field, { signal: ctx.signal });
    const n = emb.ids.length;
    if (n === 0) throw new BrainError("EMPTY_VIEW", `No sample of the view has embeddings in '${field}'`);
    const index = new Map(emb.ids.map((id, i) => [id, i]));

    // Membership of each split, in split order, as indices into the embeddings.
    let names: string[];
    let members: number[][];
    if (tags !== undefined) {
      if (!Array.isArray(tags) || tags.length < 2 || tags.some((t) => typeof t !== "string" || !t)) {
        throw new BrainError("INVALID_PARAMS", "'split_tags' must list at least two tags");
      }
      names = tags as string[];
      members = names.map(() => []);
      const docs = samplesCollection(ctx.db, ctx.dataset).find({ tags: { $in: names } }, { projection: { tags: 1 } });
      for await (const doc of docs) {
        const i = index.get(doc._id.toHexString());
        if (i === undefined) continue;
        names.forEach((t, s) => (doc.tags as string[]).includes(t) && members[s].push(i));
      }
    } else {
      const values = new Map<string, number[]>();
      const docs = samplesCollection(ctx.db, ctx.dataset).find({}, { projection: { [splitField!]: 1 } });
      for await (const doc of docs) {
        const i = index.get(doc._id.toHexString());
        const value = doc[splitField!];
        if (i === undefined || value === null || value === undefined) continue;
        const list = Array.isArray(value) ? value : [value];
        for (const v of list) {
          if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
            throw new BrainError("INVALID_PARAMS", `Split field '${splitField}' holds ${typeof v} values; use a string, number or list field`);
          }
          const key = String(v);
          values.set(key, [...(values.get(key) ?? []), i]);
        }
      }
      names = [...values.keys()].sort();
      if (names.length < 2) throw new BrainError("INVALID_PARAMS", `Split field '${splitField}' has ${names.length} distinct value(s); at least two splits are needed`);
      members = names.map((v) => values.get(v)!);
    }
    const empty = names.filter((_, s) => members[s].length === 0);
    if (empty.length) throw new BrainError("INVALID_PARAMS", `Split(s) ${empty.map((e) => `'${e}'`).join(", ")} have no samples with embeddings`);
    const { splitOf, overlaps } = assignSplits(n, members);

    ctx.progress(0.5, `Finding neighbours of ${n} samples`);
    const found = findDuplicates(radiusGraph(emb.vectors, n, emb.dim, metric, threshold), threshold);
    const leakIds = findLeaks(found, splitOf).map((i) => emb.ids[i]);
    ctx.progress(1, `${leakIds.length} leaking samples`);
    return {
      splits: names,
      splitSizes: members.map((m) => m.length),
      threshold,
      metric,
      numSamples: n,
      numMissing: emb.numMissing,
      leakIds,
      overlaps: overlaps.map((o) => ({ a: names[o.a], b: names[o.b], count: o.count })),
    };
  },
};
