import type * as fos from "@fiftyone/state";

/** Keys of the dataset's runs that hold duplicate groups. */
export function duplicateRuns(dataset: fos.Dataset | null): string[] {
  return (dataset?.brainMethods ?? [])
    .filter((m) => m.config?.method === "exact_duplicates")
    .map((m) => m.key)
    .sort();
}

/** The App server's media route serves a sample's file by path. */
export function mediaUrl(filepath: string): string {
  return `/media?filepath=${encodeURIComponent(filepath)}`;
}
