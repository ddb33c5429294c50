import type * as fos from "@fiftyone/state";
import { findDuplicates, neighborGraphOf } from "../../src/methods/nearDuplicates";
import type { StoredGraph } from "../../src/runtime/jobs/nearDuplicates";
import type { DuplicateGroupView } from "../../src/runtime/jobs/runManagement";

/** Keys of the dataset's runs that hold duplicate groups. */
export function duplicateRuns(dataset: fos.Dataset | null): string[] {
  return (dataset?.brainMethods ?? [])
    .filter((m) => m.config?.method === "exact_duplicates" || m.config?.method === "near_duplicates")
    .map((m) => m.key)
    .sort();
}

/** The App server's media route serves a sample's file by path. */
export function mediaUrl(filepath: string): string {
  return `/media?filepath=${encodeURIComponent(filepath)}`;
}

export function groupIds(group: DuplicateGroupView): string[] {
  return [group.representative.id, ...group.duplicates.map((d) => d.id)];
}

/** Every sample but the first of each group. */
export function duplicateIds(groups: readonly DuplicateGroupView[]): string[] {
  return groups.flatMap((g) => g.duplicates.map((d) => d.id));
}

/**
 * Regroups a near-duplicate run at another threshold from its stored neighbour graph,
 * with the same greedy rule as the run itself; nothing is recomputed from embeddings.
 */
export function regroup(graph: StoredGraph, filepaths: Record<string, string>, threshold: number): DuplicateGroupView[] {
  const found = findDuplicates(neighborGraphOf(graph), threshold);
  const entry = (i: number, distance?: number) => ({
    id: graph.ids[i],
    filepath: filepaths[graph.ids[i]] ?? "",
    ...(distance === undefined ? {} : { distance }),
  });
  return [...found.neighborsMap]
    .filter(([kept]) => graph.ids[kept] in filepaths)
    .map(([kept, group]) => ({ representative: entry(kept), duplicates: group.filter((e) => graph.ids[e.index] in filepaths).map((e) => entry(e.index, e.dist)) }))
    .filter((g) => g.duplicates.length > 0)
    .sort((a, b) => b.duplicates.length - a.duplicates.length);
}

export type GroupOrder = "size" | "distance";

/**
 * Groups largest first, or closest first (by the group's nearest duplicate; exact
 * duplicates are at distance 0). Stable, so ties keep the run's order.
 */
export function sortGroups(groups: readonly DuplicateGroupView[], order: GroupOrder): DuplicateGroupView[] {
  const nearest = (g: DuplicateGroupView) => Math.min(...g.duplicates.map((d) => d.distance ?? 0));
  return [...groups].sort(order === "size" ? (a, b) => b.duplicates.length - a.duplicates.length : (a, b) => nearest(a) - nearest(b));
}
