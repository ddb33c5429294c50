import type * as fos from "@fiftyone/state";
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
