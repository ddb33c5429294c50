import type * as fos from "@fiftyone/state";
import { leakGroups } from "../../src/methods/leakySplits";
import { findDuplicates } from "../../src/methods/nearDuplicates";
import type { StageDict } from "../../src/fiftyone/splits";
import type { LeakRunView } from "../../src/runtime/jobs/leakRuns";

/** Keys of the dataset's leaky-splits runs. */
export function leakRuns(dataset: fos.Dataset | null): string[] {
  return (dataset?.brainMethods ?? [])
    .filter((m) => m.config?.method === "leaky_splits")
    .map((m) => m.key)
    .sort();
}

export interface LeakSample {
  id: string;
  filepath: string;
  split: string;
}

/** A kept sample and the near duplicates from other splits that leak with it. */
export interface LeakPairGroup {
  kept: LeakSample;
  leaks: (LeakSample & { distance: number })[];
}

/**
 * The leaks of a run at a threshold, regrouped from the run's stored neighbour graph with
 * the reference's rules (nothing is recomputed from embeddings); closest pairs first.
 * Samples deleted since the run are left out.
 */
export function leaksAt(run: LeakRunView, threshold: number): LeakPairGroup[] {
  const { graph } = run;
  const found = findDuplicates(
    {
      n: graph.ids.length,
      offsets: Int32Array.from(graph.offsets),
      indices: Int32Array.from(graph.indices),
      distances: Float64Array.from(graph.distances),
      radius: graph.radius,
    },
    Math.min(threshold, graph.radius),
  );
  const sample = (i: number): LeakSample => ({ id: graph.ids[i], filepath: run.filepaths[graph.ids[i]] ?? "", split: run.splits[run.split_of[i]] ?? "" });
  return leakGroups(found, run.split_of)
    .filter((g) => graph.ids[g.kept] in run.filepaths)
    .map((g) => ({
      kept: sample(g.kept),
      leaks: g.leaks.filter((e) => graph.ids[e.index] in run.filepaths).map((e) => ({ ...sample(e.index), distance: e.dist })),
    }))
    .filter((g) => g.leaks.length > 0)
    .sort((a, b) => a.leaks[0].distance - b.leaks[0].distance);
}

/** Every leaking sample: each group's kept sample and its leaks. */
export function leakIds(groups: readonly LeakPairGroup[]): string[] {
  return groups.flatMap((g) => [g.kept.id, ...g.leaks.map((l) => l.id)]);
}

/** A split without its leaks, as App view stages. */
export function noLeaksStages(run: LeakRunView, split: number, leaks: readonly string[]): StageDict[] {
  const stages = [...(run.split_stages[split] ?? [])];
  if (leaks.length) stages.push({ _cls: "fiftyone.core.stages.Exclude", kwargs: [["sample_ids", [...leaks]]] });
  return stages;
}

/** The slider's range: the stored graph is complete up to its radius. */
export function sliderRange(run: LeakRunView): { min: number; max: number; step: number; initial: number } {
  const max = run.graph.radius;
  const step = max / 200;
  return { min: step, max, step, initial: Math.min(run.thresh, max) };
}
