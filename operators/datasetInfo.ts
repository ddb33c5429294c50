import * as fos from "@fiftyone/state";
import { useRecoilValue } from "recoil";
import type { BrainRunRef, FieldRef } from "./validation";

/** What forms need to know about the open dataset, read from the App's state in useHooks. */
export interface DatasetInfo {
  brainRuns: BrainRunRef[];
  fieldNames: string[];
  fields: FieldRef[];
  /** Top-level frame fields of a video dataset, named `frames.<name>`. */
  frameFields: FieldRef[];
}

// The App re-resolves a form on Execute with a context whose hooks are empty, so the
// last info seen during render is kept for that pass.
let lastSeen: DatasetInfo = { brainRuns: [], fieldNames: [], fields: [], frameFields: [] };

export function useDatasetInfo(): DatasetInfo {
  const dataset = useRecoilValue(fos.dataset);
  const fields = useRecoilValue(fos.sampleFields);
  const frameFields = useRecoilValue(fos.frameFields);
  lastSeen = datasetInfo(dataset, fields, frameFields);
  return lastSeen;
}

export function datasetInfo(dataset: fos.Dataset | null, fields: readonly fos.SampleField[], frameFields: readonly fos.SampleField[] = []): DatasetInfo {
  const topLevel = fields.filter((f) => !f.path.includes("."));
  const ref = (f: fos.SampleField, name = f.name): FieldRef => ({ name, ftype: f.ftype, embeddedDocType: f.embeddedDocType ?? null, subfield: f.subfield ?? null });
  return {
    brainRuns: (dataset?.brainMethods ?? []).map((m) => ({
      key: m.key,
      cls: m.config?.cls ?? "",
      type: (m.config?.type as string | undefined) ?? null,
      method: (m.config?.method as string | undefined) ?? null,
      patchesField: ((m.config?.patchesField ?? m.config?.patches_field) as string | undefined) ?? null,
    })),
    fieldNames: topLevel.map((f) => f.name),
    fields: topLevel.map((f) => ref(f)),
    frameFields: frameFields.filter((f) => !f.name.includes(".")).map((f) => ref(f, `frames.${f.name}`)),
  };
}

export function hooksInfo(hooks: Record<string, unknown> | undefined): DatasetInfo {
  return (hooks?.info as DatasetInfo | undefined) ?? lastSeen;
}
