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

/** Sorts by a field, highest first with `reverse` (samples without a value come last). */
export function sortByStage(field: string, reverse: boolean): StageDict {
  return {
    _cls: "fiftyone.core.stages.SortBy",
    kwargs: [
      ["field_or_expr", field],
      ["reverse", reverse],
      ["create_index", false],
    ],
  };
}
