import { BrainError } from "../../errors";
import { GENERIC_CONFIG_CLS, GENERIC_RESULTS_CLS, assertNewBrainKey, registerBrainRun } from "../../fiftyone/runs";
import { resolveSplits, SplitBy, StageDict } from "../../fiftyone/splits";
import { assignSplits, findLeaks } from "../../methods/leakySplits";
import { findDuplicates } from "../../methods/nearDuplicates";
import { Metric } from "../../methods/neighborGraph";
import { Job } from "../job";
import { optionalString } from "../params";
import { neighbourGraphs, readNeighbourSource, resolveThreshold, StoredGraph, storedGraph } from "./nearDuplicates";

export interface LeakySplitsResult {
  brainKey: string | null;
  splitBy: SplitBy;
  splits: string[];
  splitSizes: number[];
  threshold: number;
  metric: Metric;
  numSamples: number;
  numMissing: number;
  leakIds: string[];
  /** Pairs of splits sharing samples (later splits win, as in the reference). */
  overlaps: { a: string; b: string; count: number }[];
  /** Things the user should know that did not stop the run (overlapping splits). */
  warnings: string[];
}

/** What a leaky-splits run stores besides the leaks, for the Leaks panel. */
export interface StoredLeaks {
  thresh: number;
  leak_ids: string[];
  splits: string[];
  /** Each split as App view stages. */
  split_stages: StageDict[][];
  /** The neighbour graph (as near-duplicate runs store it) and the split of each of its samples (-1: none). */
  graph: StoredGraph;
  split_of: number[];
}

/**
 * compute_leaky_splits from embeddings (a field, a model or a similarity index, as
 * near duplicates read them), with splits given as sample tags
 * (`split_tags`), by the values of a field (`split_field`, sorted, as the reference
 * does) or as saved views (`split_views`). Leaks are the reference's: each
 * near-duplicate group's kept sample with its duplicates from other splits. With a
 * `brain_key` the run is stored with its neighbour graph, so the Leaks panel regroups
 * at other thresholds without recomputing.
 */
export const leakySplitsJob: Job<LeakySplitsResult> = {
  name: "compute_leaky_splits",
  description: "Find near duplicates that cross train/test splits",
  async run(ctx, params) {
    const brainKey = optionalString(params, "brain_key") ?? null;
    if (brainKey) assertNewBrainKey(ctx.dataset, brainKey);
    const emb = await readNeighbourSource(ctx, params);
    const { metric } = emb;
    const threshold = resolveThreshold(params, metric);
    const n = emb.ids.length;
    const index = new Map(emb.ids.map((id, i) => [id, i]));
    const splits = await resolveSplits(ctx.db, ctx.dataset, params, index);
    const { names, members } = splits;
    const empty = names.filter((_, s) => members[s].length === 0);
    if (empty.length) throw new BrainError("INVALID_PARAMS", `Split(s) ${empty.map((e) => `'${e}'`).join(", ")} have no samples with embeddings`);
    const { splitOf, overlaps } = assignSplits(n, members);
    const warnings = overlaps.map(
      (o) => `The '${names[o.a]}' and '${names[o.b]}' splits share ${o.count} samples; they count as '${names[o.b]}'`,
    );

    ctx.progress(0.35, `Finding neighbours of ${n} samples`);
    const { graph, exact } = await neighbourGraphs(emb.vectors, n, emb.dim, metric, threshold, {
      signal: ctx.signal,
      center: emb.center,
      progress: (f) => ctx.progress(0.35 + 0.6 * f, `Finding neighbours of ${n} samples`),
    });
    const leakIds = findLeaks(findDuplicates(exact, threshold), splitOf).map((i) => emb.ids[i]);
    if (brainKey) {
      const stored = storedGraph(graph, emb.ids);
      const results: StoredLeaks = {
        thresh: threshold,
        leak_ids: leakIds,
        splits: names,
        split_stages: splits.stages,
        graph: stored,
        split_of: stored.ids.map((id) => splitOf[index.get(id)!]),
      };
      await registerBrainRun(ctx.db, ctx.dataset, {
        key: brainKey,
        version: ctx.fiftyoneVersion,
        viewStages: ctx.target.viewStages ?? null,
        config: {
          cls: GENERIC_CONFIG_CLS, type: "brain", method: "leaky_splits", runtime: "brain-ts",
          ...emb.config, threshold, split_by: splits.by, splits: names,
        },
        results: { cls: GENERIC_RESULTS_CLS, ...results },
      });
    }
    ctx.progress(1, `${leakIds.length} leaking samples`);
    return {
      brainKey,
      splitBy: splits.by,
      splits: names,
      splitSizes: members.map((m) => m.length),
      threshold,
      metric,
      numSamples: n,
      numMissing: emb.numMissing,
      leakIds,
      overlaps: overlaps.map((o) => ({ a: names[o.a], b: names[o.b], count: o.count })),
      warnings,
    };
  },
};
