import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import { BrainRunRef } from "./forms";

/** What forms need to know about the open dataset, read from the App's state in useHooks. */
export interface DatasetInfo {
  brainRuns: BrainRunRef[];
  fieldNames: string[];
}

export function useDatasetInfo(): DatasetInfo {
  const dataset = useRecoilValue(fos.dataset);
  return datasetInfo(dataset);
}

export function datasetInfo(dataset: fos.Dataset | null): DatasetInfo {
  return {
    brainRuns: (dataset?.brainMethods ?? []).map((m) => ({
      key: m.key,
      cls: m.config?.cls ?? "",
      type: (m.config?.type as string | undefined) ?? null,
      method: (m.config?.method as string | undefined) ?? null,
    })),
    fieldNames: (dataset?.sampleFields ?? []).map((f) => f.name),
  };
}

export function hooksInfo(hooks: Record<string, unknown> | undefined): DatasetInfo {
  return (hooks?.info as DatasetInfo | undefined) ?? { brainRuns: [], fieldNames: [] };
}
