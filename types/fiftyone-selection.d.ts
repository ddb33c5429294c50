// The part of @fiftyone/state the Embeddings panel uses to narrow the grid and follow its
// selection (merged with the declarations in fiftyone.d.ts).
declare module "@fiftyone/state" {
  import type { RecoilState, RecoilValueReadOnly } from "recoil";
  /** A grid-narrowing selection that does not edit the view bar. */
  export const extendedSelection: RecoilState<{ selection: string[] | null; scope?: string }>;
  /** A stage `{[_cls]: kwargs}` the grid applies instead of `Select(selection)`. */
  export const extendedSelectionOverrideStage: RecoilState<Record<string, Record<string, unknown>> | null>;
  export const isPatchesView: RecoilValueReadOnly<boolean>;
  export const filters: RecoilState<Record<string, unknown>>;
}
