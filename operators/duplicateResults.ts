import { types } from "@fiftyone/operators";
import { orderedIds, DuplicateGroups } from "../src/methods/exactDuplicates";
import { callRuntime, trigger } from "./bridge";
import { selectStage } from "./views";

/** What the duplicate finders offer to do with their groups once a run is done. */
export const AFTER_RUN = ["show", "tag", "none"] as const;
export type AfterRun = (typeof AFTER_RUN)[number];
export const DUPLICATE_TAG = "duplicate";

export function addAfterRunInput(inputs: types.Object): void {
  const after = new types.RadioGroup({ choices: [] });
  after.addChoice("show", { label: "Show the duplicates in the grid", description: "Each group's first sample, then its duplicates" });
  after.addChoice("tag", { label: `Tag duplicates '${DUPLICATE_TAG}'`, description: "Every sample but the first of each group" });
  after.addChoice("none", { label: "Only record the run" });
  inputs.enum("after_run", [...AFTER_RUN], { label: "Then", default: "show", view: after });
}

export async function applyAfterRun(after: unknown, groups: DuplicateGroups): Promise<void> {
  trigger("reload_dataset");
  const duplicates = Object.values(groups).flat();
  if (duplicates.length === 0) return;
  if ((after ?? "show") === "show") {
    trigger("set_view", { view: [selectStage(orderedIds(groups), true)] });
  } else if (after === "tag") {
    await callRuntime({ method: "tag_samples", params: { sample_ids: duplicates, tag: DUPLICATE_TAG } });
    trigger("reload_samples");
  }
}
