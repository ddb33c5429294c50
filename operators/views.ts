/** View stages as the App's `set_view` takes them. */
export interface StageDict {
  _cls: string;
  kwargs: [string, unknown][];
}

export function selectStage(sampleIds: string[], ordered: boolean): StageDict {
  return {
    _cls: "fiftyone.core.stages.Select",
    kwargs: [
      ["sample_ids", sampleIds],
      ["ordered", ordered],
    ],
  };
}
